import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakerTransition, CLOSED, countsAgainstBreaker, DEFAULT_BREAKER_CONFIG, effectiveCircuitState, probeSlotMs } from '../../src/domain/breaker.js';
import type { BreakerConfig, BreakerEvent, BreakerResult, BreakerState } from '../../src/domain/breaker.js';
import { CIRCUIT_STATES, ERROR_TYPES } from '../../src/domain/statuses.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const ACQUIRE: BreakerEvent = { type: 'acquire' };
const OUTCOMES = ['success', 'failure', 'neutral'] as const;
const ev = (type: (typeof OUTCOMES)[number], probe = false, epoch?: number, slot?: number): BreakerEvent => ({ type, probe, epoch, slot });
const cfg = (over: Partial<BreakerConfig> = {}): BreakerConfig => ({ ...DEFAULT_BREAKER_CONFIG, ...over });
const openShape = (at: number, c: BreakerConfig, probeEpoch = 0): BreakerState => ({ ...CLOSED, state: 'open', openedAt: at, nextProbeAt: at + c.openMs, probeEpoch });

/** Applies [event, at] steps in order; returns every result and the final state. */
function run(c: BreakerConfig, steps: [BreakerEvent, number][], from: BreakerState = CLOSED): { state: BreakerState; results: BreakerResult[] } {
  let state = from;
  const results = steps.map(([e, at]) => {
    const r = breakerTransition(state, e, c, at);
    state = r.state;
    return r;
  });
  return { state, results };
}
const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);
const opened = (c: BreakerConfig, at = T0) => run(c, times(c.failureThreshold, [ev('failure'), at] as [BreakerEvent, number])).state;
/** Opened at T0, then half-open at T0 + openMs with one probe admitted. */
const halfOpen = (c: BreakerConfig) => run(c, [[ACQUIRE, T0 + c.openMs]], opened(c)).state;

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
const configArb = fc.record({
  failureThreshold: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 10 }) }),
  failureRateThreshold: fc.option(fc.integer({ min: 1, max: 100 }).map((n) => n / 100), { nil: null }),
  minimumCalls: fc.integer({ min: 1, max: 10 }),
  windowMs: fc.integer({ min: 100, max: 100_000 }),
  openMs: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 10, max: 2000 }) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 120_000 }) }),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 4 }),
  successThreshold: fc.integer({ min: 1, max: 4 }),
});
const dt = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 2500 }) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 150_000 }) });
const cmdArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ dt, op: fc.constant('acquire' as const) }) },
  { weight: 5, arbitrary: fc.record({ dt, op: fc.constant('answer' as const), pick: fc.nat(), probeFirst: fc.boolean(), outcome: fc.constantFrom('failure', ...OUTCOMES) }) },
  { weight: 1, arbitrary: fc.record({ dt, op: fc.constant('force_open' as const), durationMs: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ dt, op: fc.constant('force_close' as const) }) },
);
type Cmd = typeof cmdArb extends fc.Arbitrary<infer C> ? C : never;

/**
 * Drives the breaker like the executor: only admitted calls answer, with the probe flag and epoch they were
 * admitted with. `late`: a probe may answer at any later time, even after its half-open round ended (reopen,
 * close, force); otherwise probes unanswered when their round ends never answer. In both, a probe of the current
 * round unanswered for probeSlotMs is dead once the breaker has expired its slot (at the next acquire). The
 * probes in flight are the unanswered ones of the current round; each answer carries its slot.
 */
function simulate(c: BreakerConfig, cmds: Cmd[], late: boolean, seen = { concurrent: 0, expired: 0, stale: 0 }): boolean {
  const slot = probeSlotMs(c);
  let s = CLOSED;
  let now = T0;
  let round = 0;
  let calls: { probe: boolean; epoch: number | undefined; at: number }[] = [];
  const current = (k: (typeof calls)[number]) => k.probe && k.epoch === round;
  const inFlight = () => calls.filter(current).length;
  for (const cmd of cmds) {
    now += cmd.dt;
    let r: BreakerResult;
    if (cmd.op === 'acquire') {
      if (s.state === 'half_open') {
        const dead = calls.filter((k) => current(k) && now - k.at >= slot); // their slots expire: those probes are dead
        if (dead.length > 0) [calls, seen.expired] = [calls.filter((k) => !dead.includes(k)), seen.expired + 1];
      }
      r = breakerTransition(s, ACQUIRE, c, now);
      if (r.transition === 'half_open') round++;
      if (r.admitted) calls.push({ probe: r.probe === true, epoch: r.epoch, at: now });
      check((r.probe === true) === (r.admitted === true && r.state.state === 'half_open'), 'probe flag', r.state);
      check(r.epoch === (r.probe === true ? round : undefined), 'acquire epoch', r.state);
    } else if (cmd.op === 'answer') {
      const pool = cmd.probeFirst && calls.some((k) => k.probe) ? calls.filter((k) => k.probe) : calls;
      if (pool.length === 0) continue;
      const call = pool[cmd.pick % pool.length]!;
      calls.splice(calls.indexOf(call), 1);
      r = breakerTransition(s, ev(cmd.outcome, call.probe, call.epoch, call.at), c, now);
      if (s.state === 'half_open' && call.probe && call.epoch !== round) {
        seen.stale++;
        check(r.state === s, 'a late answer from an earlier round is ignored', s);
      }
    } else {
      r = breakerTransition(s, cmd.op === 'force_open' ? { type: 'force_open', durationMs: cmd.durationMs } : { type: 'force_close' }, c, now);
    }
    if (!late && s.state === 'half_open' && r.state.state !== 'half_open') calls = calls.filter((k) => !k.probe);
    s = r.state;
    const counters = [s.consecutiveFailures, s.windowCalls, s.windowFailures, s.halfOpenCalls, s.halfOpenSuccesses];
    check(CIRCUIT_STATES.includes(s.state) && counters.every((n) => Number.isInteger(n) && n >= 0) && s.windowFailures <= s.windowCalls, 'state/counters', s);
    check(s.probeEpoch === round, 'probeEpoch counts the half-open rounds', s);
    if (s.state === 'closed') check(s.halfOpenCalls === 0 && s.probeSlots.length === 0 && s.halfOpenSuccesses === 0 && s.openedAt === null && s.nextProbeAt === null && !s.forced, 'closed shape', s);
    check((s.state === 'closed' || (s.lastSuccessAt === null && s.lastFailureAt === null)) && (s.consecutiveFailures === 0 || s.lastFailureAt !== null), 'success/failure stamps', s);
    if (s.state === 'half_open') {
      check(inFlight() <= c.halfOpenMaxCalls, `${inFlight()} probes in flight > halfOpenMaxCalls`, s);
      if (inFlight() >= 2) seen.concurrent++;
      check(s.halfOpenCalls <= c.halfOpenMaxCalls && s.halfOpenSuccesses < c.successThreshold, 'half-open counters', s);
      const slots = calls.filter(current).map((k) => k.at);
      const agrees = s.halfOpenCalls === inFlight() && JSON.stringify(s.probeSlots) === JSON.stringify(slots) && s.nextProbeAt === (slots.length > 0 ? slots[0]! + slot : null);
      check(agrees, 'half-open state agrees with the model', s);
    }
  }
  return true;
}
/** Plain throw: expect() inside thousands of simulated steps is too slow. */
function check(ok: boolean, what: string, s: BreakerState): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(s)}`);
}

// Sizes and weights are biased so that most runs reach half-open with several probes in flight.
const cmdsArb = fc.array(cmdArb, { minLength: 20, maxLength: 150, size: 'max' });

describe('property: half-open probe limit', () => {
  it.each([
    ['answer within their own half-open round', false],
    ['may answer late, after their round ended (each answer carries its epoch)', true],
  ] as const)('holds for callers whose probes %s (state agrees with the model)', (_, late) => {
    const seen = { concurrent: 0, expired: 0, stale: 0 };
    fc.assert(fc.property(configArb, cmdsArb, (c, cmds) => simulate(c, cmds, late, seen)), { numRuns: 300 });
    expect(seen.concurrent).toBeGreaterThan(50); // not vacuous: concurrent probes, slot expiries and late answers happened
    expect(seen.expired).toBeGreaterThan(0);
    if (late) expect(seen.stale).toBeGreaterThan(0);
  });

  it('a late answer of a probe admitted before the reopen is ignored: no third probe gets in (halfOpenMaxCalls 2)', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 2, successThreshold: 2 });
    // A, B admitted as probes of round 1; A fails (reopen); C admitted in round 2; B answers success late, with its epoch.
    const a = breakerTransition(opened(c), ACQUIRE, c, T0 + 1000);
    const b = breakerTransition(a.state, ACQUIRE, c, T0 + 1000);
    const reopened = breakerTransition(b.state, ev('failure', true, a.epoch), c, T0 + 1100).state;
    const cr = breakerTransition(reopened, ACQUIRE, c, T0 + 2100);
    expect([a.epoch, b.epoch, cr.epoch, cr.transition]).toEqual([1, 1, 2, 'half_open']);
    expect(breakerTransition(cr.state, ev('success', true, b.epoch), c, T0 + 2200)).toEqual({ state: cr.state });
    // C is the only probe of this round in flight: one more (D) fits, a second (E) must not.
    const { results } = run(c, [[ACQUIRE, T0 + 2300], [ACQUIRE, T0 + 2300]], cr.state);
    expect(results.map((r) => [r.admitted, r.epoch])).toEqual([[true, 2], [false, undefined]]);
  });

  it('slot expiry frees only the slots unanswered for probeSlotMs', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 2 });
    const slot = probeSlotMs(c);
    const tH = T0 + 1000; // A admitted at tH, B at tH + slot - 1; at tH + slot only A's slot has expired
    const { results } = run(c, [[ACQUIRE, tH], [ACQUIRE, tH + slot - 1], [ACQUIRE, tH + slot], [ACQUIRE, tH + slot + 1]], opened(c));
    expect(results.map((r) => r.admitted)).toEqual([true, true, true, false]); // B and C in flight: D must wait
  });
  it('keeps the slots oldest first when acquires arrive out of time order (replica clocks differ)', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 3 });
    const slot = probeSlotMs(c);
    const tH = T0 + 1000;
    const { state } = run(c, [[ACQUIRE, tH + 50], [ACQUIRE, tH + 80], [ACQUIRE, tH + 60]], opened(c));
    expect(state).toMatchObject({ halfOpenCalls: 3, probeSlots: [tH + 50, tH + 60, tH + 80], nextProbeAt: tH + 50 + slot });
    // An answer that does not know its slot frees the oldest.
    expect(breakerTransition(state, ev('neutral', true, 1), c, tH + 100).state.probeSlots).toEqual([tH + 60, tH + 80]);
  });
  it('a probe answering after its slot expired frees no other probe\'s slot', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 2, successThreshold: 3 });
    const slot = probeSlotMs(c);
    const tH = T0 + 1000;
    // A at tH, B at tH + slot - 1; C at tH + slot takes A's expired slot; then A answers (neutral and success alike).
    const { state } = run(c, [[ACQUIRE, tH], [ACQUIRE, tH + slot - 1], [ACQUIRE, tH + slot]], opened(c));
    expect(state).toMatchObject({ halfOpenCalls: 2, probeSlots: [tH + slot - 1, tH + slot], nextProbeAt: tH + 2 * slot - 1 });
    for (const outcome of ['neutral', 'success'] as const) {
      const late = breakerTransition(state, { type: outcome, probe: true, epoch: 1, slot: tH }, c, tH + slot + 5).state;
      expect(late.probeSlots).toEqual([tH + slot - 1, tH + slot]);
      expect(breakerTransition(late, ACQUIRE, c, tH + slot + 6).admitted).toBe(false);
    }
    // B's own answer frees B's slot, not C's.
    const afterB = breakerTransition(state, { type: 'neutral', probe: true, epoch: 1, slot: tH + slot - 1 }, c, tH + slot + 5).state;
    expect(afterB).toMatchObject({ halfOpenCalls: 1, probeSlots: [tH + slot], nextProbeAt: tH + 2 * slot });
  });
});
