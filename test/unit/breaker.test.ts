// The circuit breaker state machine, case by case: closed, failure-rate mode,
// open, half-open, probe rounds, operator commands.
import { describe, expect, it } from 'vitest';
import { breakerTransition, CLOSED, countsAgainstBreaker, effectiveCircuitState, probeSlotMs } from '../../src/domain/breaker.js';
import type { BreakerEvent, BreakerState } from '../../src/domain/breaker.js';
import { ERROR_TYPES } from '../../src/domain/statuses.js';
import { ACQUIRE, cfg, ev, halfOpen, opened, openShape, OUTCOMES, run, T0, times } from '../helpers/breaker-fixtures.js';

describe('countsAgainstBreaker', () => {
  it('is true for exactly timeout, network, rate_limited and unavailable', () => {
    expect(ERROR_TYPES.filter(countsAgainstBreaker)).toEqual(['timeout', 'network', 'rate_limited', 'unavailable']);
  });
  it.each(ERROR_TYPES.map((t) => [t, ['timeout', 'network', 'rate_limited', 'unavailable'].includes(t)] as const))('%s -> %s', (t, counts) => {
    expect(countsAgainstBreaker(t)).toBe(counts);
  });
});

describe('closed', () => {
  const c = cfg({ failureThreshold: 3, openMs: 5000 });
  it.each([
    ['fresh', CLOSED],
    ['with failures', { ...CLOSED, consecutiveFailures: 2, windowCalls: 2, windowFailures: 2, windowStartedAt: T0 }],
  ] as const)('admits every acquire as a non-probe (%s) and changes nothing', (_, s) => {
    for (const at of [0, T0, T0 + 10 ** 9]) expect(breakerTransition(s, ACQUIRE, c, at)).toEqual({ state: s, admitted: true, probe: false });
  });
  it('a success resets consecutiveFailures, counts the call in the window and stamps lastSuccessAt', () => {
    const { state, results } = run(c, [[ev('failure'), T0], [ev('failure'), T0 + 1], [ev('success'), T0 + 2]]);
    expect(state).toEqual({ ...CLOSED, windowCalls: 3, windowFailures: 2, windowStartedAt: T0, lastSuccessAt: T0 + 2, lastFailureAt: T0 + 1 });
    expect(results.map((r) => r.transition)).toEqual([undefined, undefined, undefined]);
  });
  it.each([1, 2, 3, 5, 7])('failureThreshold %i: opens exactly at the threshold-th consecutive failure', (n) => {
    const k = cfg({ failureThreshold: n, openMs: 1234 });
    const before = run(k, times(n - 1, [ev('failure'), T0] as [BreakerEvent, number])).state;
    expect(before).toMatchObject({ state: 'closed', consecutiveFailures: n - 1 });
    const r = breakerTransition(before, ev('failure'), k, T0 + 7);
    expect(r).toEqual({ state: openShape(T0 + 7, k), transition: 'open' });
    expect(r.state.nextProbeAt).toBe(T0 + 7 + 1234);
  });
  it('a success in between restarts the count', () => {
    expect(run(c, [ev('failure'), ev('failure'), ev('success'), ev('failure'), ev('failure')].map((e) => [e, T0])).state.state).toBe('closed');
  });
  it.each([false, true])('neutral (probe %s) changes nothing, not even the count', (probe) => {
    const s = run(c, [[ev('failure'), T0], [ev('failure'), T0]]).state;
    expect(breakerTransition(s, ev('neutral', probe), c, T0 + 1)).toEqual({ state: s });
    expect(run(c, [[ev('neutral', probe), T0], [ev('failure'), T0]], s).state).toEqual(openShape(T0, c));
  });
});

describe('closed: consecutive is decided by time (lastSuccessAt / lastFailureAt)', () => {
  const k = cfg(); // failureThreshold 5: no opening in the way
  const fail = (lastSuccessAt?: number): BreakerEvent => ({ type: 'failure', probe: false, lastSuccessAt });
  const oneF: BreakerState = { ...CLOSED, consecutiveFailures: 1, windowCalls: 1, windowFailures: 1, windowStartedAt: 1000, lastFailureAt: 1000 };
  it('two failures with no success between open a threshold-2 breaker; opened() spreads CLOSED, so both stamps reset to null', () => {
    expect(run(cfg({ failureThreshold: 2 }), [[fail(), 1000], [fail(500), 3000]]).results).toEqual([{ state: oneF }, { state: { ...CLOSED, state: 'open', openedAt: 3000, nextProbeAt: 3000 + k.openMs, lastSuccessAt: null, lastFailureAt: null }, transition: 'open' }]);
  });
  it.each([[2000, 1], [undefined, 2], [500, 2], [1000, 2]])('F at 1000, then F at 3000 carrying lastSuccessAt %s -> consecutiveFailures %i (only a success newer than 1000, written or not, restarts the streak)', (at, n) => {
    expect(run(k, [[fail(), 1000], [fail(at), 3000]]).state).toEqual({ ...oneF, consecutiveFailures: n, windowCalls: 2, windowFailures: 2, lastSuccessAt: at ?? null, lastFailureAt: 3000 });
  });
  it.each([[undefined, 2], [1500, 2], [3500, 1]])('the known success is the newer of the row\'s (2000) and the event\'s (%s) -> consecutiveFailures %i', (at, n) => {
    const { results } = run(k, [[ev('success'), 2000], [fail(), 3000], [fail(at), 4000]], oneF);
    expect(results.map(({ state: x }) => [x.consecutiveFailures, x.lastSuccessAt, x.lastFailureAt])).toEqual([[0, 2000, 1000], [1, 2000, 3000], [n, Math.max(2000, at ?? 0), 4000]]);
  });
  it.each([[undefined, 2], [500, 1]])('lastFailureAt null, consecutiveFailures 1: a failure carrying lastSuccessAt %s -> %i', (at, n) =>
    expect(breakerTransition({ ...CLOSED, consecutiveFailures: 1 }, fail(at), k, 1000).state).toMatchObject({ consecutiveFailures: n, lastFailureAt: 1000 }));
});

describe('failure-rate mode', () => {
  const c = cfg({ failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 4, windowMs: 10_000 });
  it.each(([
    ['FFF', 'closed'], // 100% but fewer than minimumCalls
    ['FFFF', 'open'],
    ['SSFF', 'open'], // exactly 0.5
    ['SFSF', 'open'],
    ['SSSF', 'closed'], // 0.25
    ['SSSFF', 'closed'], // 0.4
    ['SSSFFF', 'open'], // 0.5
    ['SSSSSSFFFF', 'closed'], // 0.4
  ] as const).flatMap(([seq, expected]) => [1, 1000].map((n) => [seq, expected, n] as const)))('%s -> %s (failureThreshold %i plays no part)', (seq, expected, n) => {
    const steps = [...seq].map((ch, i): [BreakerEvent, number] => [ev(ch === 'F' ? 'failure' : 'success'), T0 + i]);
    const { state, results } = run({ ...c, failureThreshold: n }, steps);
    expect(state.state).toBe(expected);
    expect(results.filter((r) => r.transition === 'open')).toHaveLength(expected === 'open' ? 1 : 0);
    if (expected === 'open') expect(results.at(-1)!.transition).toBe('open');
  });
  it('the window resets after windowMs', () => {
    const three = run(c, times(3, [ev('failure'), T0] as [BreakerEvent, number])).state;
    expect(three).toMatchObject({ windowCalls: 3, windowFailures: 3, windowStartedAt: T0 });
    expect(breakerTransition(three, ev('failure'), c, T0 + 9_999).state.state).toBe('open');
    const rolled = breakerTransition(three, ev('failure'), c, T0 + 10_000);
    expect(rolled).toEqual({ state: { ...three, consecutiveFailures: 4, windowCalls: 1, windowFailures: 1, windowStartedAt: T0 + 10_000, lastFailureAt: T0 + 10_000 } });
    expect(breakerTransition(three, ev('success'), c, T0 + 50_000).state).toMatchObject({ windowCalls: 1, windowFailures: 0, windowStartedAt: T0 + 50_000 });
  });
  it('only the rate opens it: failureThreshold consecutive failures do not, before minimumCalls', () => {
    const k = cfg({ failureThreshold: 3, failureRateThreshold: 0.9, minimumCalls: 100 });
    const before = run(k, times(99, [ev('failure'), T0] as [BreakerEvent, number])).state;
    expect(before).toEqual({ ...CLOSED, consecutiveFailures: 99, windowCalls: 99, windowFailures: 99, windowStartedAt: T0, lastFailureAt: T0 });
    expect(breakerTransition(before, ev('failure'), k, T0 + 1)).toEqual({ state: openShape(T0 + 1, k), transition: 'open' });
  });
});

describe('open', () => {
  const c = cfg({ failureThreshold: 2, openMs: 5000, halfOpenMaxCalls: 2 });
  const s = opened(c);
  it.each([0, 1, 4999])('rejects an acquire %i ms after opening', (dt) => {
    expect(breakerTransition(s, ACQUIRE, c, T0 + dt)).toEqual({ state: s, admitted: false });
  });
  it.each([5000, 5001, 10 ** 7])('the first acquire %i ms after opening goes half-open, is a probe and starts round probeEpoch + 1', (dt) => {
    const r = breakerTransition(s, ACQUIRE, c, T0 + dt);
    expect(r).toEqual({ state: { ...s, state: 'half_open', halfOpenCalls: 1, probeSlots: [T0 + dt], nextProbeAt: T0 + dt + probeSlotMs(c), probeEpoch: 1 }, admitted: true, probe: true, epoch: 1, transition: 'half_open' });
    expect(breakerTransition({ ...s, probeEpoch: 6 }, ACQUIRE, c, T0 + dt)).toMatchObject({ epoch: 7, state: { probeEpoch: 7 } });
  });
  it.each(
    OUTCOMES.flatMap((o) => [['open', o, false, undefined], ['open', o, true, undefined], ['open', o, true, 0], ['half_open', o, false, undefined], ['half_open', o, true, 0]] as const),
  )('%s ignores %s (probe %s, epoch %s)', (st, o, probe, epoch) => {
    const from = st === 'open' ? s : halfOpen(c); // half_open: round 1, so epoch 0 is an earlier round
    expect(breakerTransition(from, ev(o, probe, epoch), c, T0 + 6000)).toEqual({ state: from });
  });
});

describe('probeEpoch', () => {
  it('only entering half-open advances it; opening, reopening, closing and forcing keep it', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000 });
    // open, half_open (round 1), reopen, half_open (round 2), close after success, open, force_close, force_open, half_open (round 3)
    const events: BreakerEvent[] = [ev('failure'), ACQUIRE, ev('failure', true, 1), ACQUIRE, ev('success', true, 2), ev('failure'), { type: 'force_close' }, { type: 'force_open', durationMs: 10 }, ACQUIRE];
    const { results } = run(c, events.map((e, i): [BreakerEvent, number] => [e, T0 + 1000 * i]));
    expect(results.map((r) => [r.transition, r.state.probeEpoch, r.epoch])).toEqual([
      ['open', 0, undefined], ['half_open', 1, 1], ['open', 1, undefined], ['half_open', 2, 2], ['closed', 2, undefined],
      ['open', 2, undefined], ['closed', 2, undefined], ['open', 2, undefined], ['half_open', 3, 3],
    ]);
  });
});

describe('half_open', () => {
  it.each([1, 2, 3])('halfOpenMaxCalls %i: admits exactly that many probes', (max) => {
    const c = cfg({ halfOpenMaxCalls: max, openMs: 1000 });
    const { state, results } = run(c, times(max + 2, [ACQUIRE, T0 + 1000] as [BreakerEvent, number]), opened(c));
    expect(results.map((r) => r.admitted)).toEqual([...times(max, true), false, false]);
    expect(results.filter((r) => r.admitted).every((r) => r.probe === true)).toBe(true);
    expect(results.map((r) => r.epoch)).toEqual([...times(max, 1), undefined, undefined]);
    expect(results.map((r) => r.transition)).toEqual(['half_open', ...times(max + 1, undefined)]);
    expect(state).toMatchObject({ state: 'half_open', halfOpenCalls: max });
  });
  it('a probe failure reopens it with a new nextProbeAt', () => {
    const c = cfg({ halfOpenMaxCalls: 2, openMs: 1000 });
    const s = run(c, [[ACQUIRE, T0 + 1000]], halfOpen(c)).state;
    expect(breakerTransition(s, ev('failure', true, 1), c, T0 + 1500)).toEqual({ state: openShape(T0 + 1500, c, 1), transition: 'open' });
  });
  it.each([1, 2, 3])('successThreshold %i: closes after that many probe successes', (k) => {
    const c = cfg({ successThreshold: k, openMs: 1000 });
    let s = halfOpen(c);
    for (let i = 1; i < k; i++) {
      const r = breakerTransition(s, ev('success', true, 1), c, T0 + 1000 + i);
      expect(r).toEqual({ state: { ...s, halfOpenCalls: 0, probeSlots: [], nextProbeAt: null, halfOpenSuccesses: i } });
      s = run(c, [[ACQUIRE, T0 + 1000 + i]], r.state).state;
      expect(s).toMatchObject({ state: 'half_open', halfOpenCalls: 1 });
    }
    expect(breakerTransition(s, ev('success', true, 1), c, T0 + 2000)).toEqual({ state: { ...CLOSED, probeEpoch: 1 }, transition: 'closed' });
  });
  it.each(OUTCOMES)('a probe %s counts with the current epoch or none, and is ignored with an earlier one', (o) => {
    const c = cfg({ openMs: 1000, halfOpenMaxCalls: 2, successThreshold: 2 });
    const s = run(c, [[ev('failure', true, 1), T0 + 1001], [ACQUIRE, T0 + 2001]], halfOpen(c)).state;
    expect(s).toMatchObject({ state: 'half_open', probeEpoch: 2, halfOpenCalls: 1 });
    for (const old of [0, 1]) expect(breakerTransition(s, ev(o, true, old), c, T0 + 2002)).toEqual({ state: s });
    const counted = breakerTransition(s, ev(o, true, 2), c, T0 + 2002);
    expect(counted.state).not.toEqual(s);
    expect(breakerTransition(s, ev(o, true), c, T0 + 2002)).toEqual(counted);
  });
  it('a neutral probe frees its slot without counting', () => {
    const c = cfg({ successThreshold: 2, openMs: 1000 });
    const s = halfOpen(c);
    expect(breakerTransition(s, ACQUIRE, c, T0 + 1001).admitted).toBe(false);
    const freed = breakerTransition(s, ev('neutral', true), c, T0 + 1002);
    expect(freed).toEqual({ state: { ...s, halfOpenCalls: 0, probeSlots: [], nextProbeAt: null } });
    expect(breakerTransition(freed.state, ACQUIRE, c, T0 + 1003)).toMatchObject({ admitted: true, probe: true });
  });
  it.each([[1000, 60_000], [59_999, 60_000], [120_000, 120_000]])('openMs %i: probeSlotMs is %i', (openMs, slot) => expect(probeSlotMs(cfg({ openMs }))).toBe(slot));
  it.each([1000, 120_000])('openMs %i: unanswered probe slots expire at nextProbeAt and new probes are admitted', (openMs) => {
    const c = cfg({ openMs, halfOpenMaxCalls: 1 });
    const slot = probeSlotMs(c);
    const tH = T0 + openMs;
    const s = halfOpen(c);
    expect(s.nextProbeAt).toBe(tH + slot);
    expect(breakerTransition(s, ACQUIRE, c, tH + slot - 1)).toEqual({ state: s, admitted: false });
    expect(breakerTransition(s, ACQUIRE, c, tH + slot)).toEqual({ state: { ...s, halfOpenCalls: 1, probeSlots: [tH + slot], nextProbeAt: tH + 2 * slot }, admitted: true, probe: true, epoch: 1 });
  });
});

describe('force_open / force_close', () => {
  const c = cfg({ failureThreshold: 2, openMs: 1000, halfOpenMaxCalls: 2 });
  const states: [string, BreakerState][] = [
    ['closed', { ...CLOSED, consecutiveFailures: 1, windowCalls: 1, windowFailures: 1, windowStartedAt: T0, probeEpoch: 2, lastSuccessAt: T0 - 1, lastFailureAt: T0 }],
    ['open', opened(c)],
    ['half_open', halfOpen(c)],
  ];
  it.each(states)('force_open without a duration from %s never admits until force_close; both keep probeEpoch', (name, s) => {
    const r = breakerTransition(s, { type: 'force_open' }, c, T0 + 5);
    const forced: BreakerState = { ...CLOSED, state: 'open', forced: true, openedAt: T0 + 5, nextProbeAt: null, probeEpoch: s.probeEpoch };
    expect(r).toEqual({ state: forced, ...(name === 'open' ? {} : { transition: 'open' }) });
    const after = run(c, [[ev('failure', true), T0 + 6], [ev('success', true), T0 + 7], [ACQUIRE, T0 + 10 ** 10]], r.state);
    expect(after.results.map((x) => x.admitted)).toEqual([undefined, undefined, false]);
    expect(after.state).toBe(r.state);
    expect(effectiveCircuitState(r.state, T0 + 10 ** 12)).toBe('open');
    const closed = breakerTransition(r.state, { type: 'force_close' }, c, T0 + 10 ** 10);
    expect(closed).toEqual({ state: { ...CLOSED, probeEpoch: s.probeEpoch }, transition: 'closed' });
    expect(breakerTransition(closed.state, ACQUIRE, c, T0 + 10 ** 10)).toMatchObject({ admitted: true, probe: false });
  });
  it.each(states)('force_open with durationMs from %s probes after the duration', (_, s) => {
    const forced = breakerTransition(s, { type: 'force_open', durationMs: 7000 }, c, T0 + 5).state;
    expect(forced).toEqual({ ...CLOSED, state: 'open', forced: true, openedAt: T0 + 5, nextProbeAt: T0 + 7005, probeEpoch: s.probeEpoch });
    expect(breakerTransition(forced, ACQUIRE, c, T0 + 7004).admitted).toBe(false);
    const next = s.probeEpoch + 1;
    expect(breakerTransition(forced, ACQUIRE, c, T0 + 7005)).toMatchObject({ admitted: true, probe: true, epoch: next, transition: 'half_open', state: { state: 'half_open', forced: false, probeEpoch: next } });
  });
  it.each(states)('force_close from %s resets to CLOSED, keeping probeEpoch', (name, s) => {
    expect(breakerTransition(s, { type: 'force_close' }, c, T0 + 9)).toEqual({ state: { ...CLOSED, probeEpoch: s.probeEpoch }, ...(name === 'closed' ? {} : { transition: 'closed' }) });
  });
});

describe('effectiveCircuitState', () => {
  const c = cfg({ openMs: 1000 });
  it.each([
    ['closed', 'closed', CLOSED, T0 + 10 ** 9],
    ['open before nextProbeAt', 'open', opened(c), T0 + 999],
    ['open at nextProbeAt', 'half_open', opened(c), T0 + 1000],
    ['open past nextProbeAt', 'half_open', opened(c), T0 + 10 ** 9],
    ['half_open', 'half_open', halfOpen(c), T0 + 1000],
    ['forced indefinitely', 'open', { ...CLOSED, state: 'open', forced: true, openedAt: T0, nextProbeAt: null }, T0 + 10 ** 12],
  ] as const)('%s -> %s', (_, expected, s, now) => expect(effectiveCircuitState(s, now)).toBe(expected));
});

// ---- Property: probes in flight while half-open never exceed halfOpenMaxCalls ----
