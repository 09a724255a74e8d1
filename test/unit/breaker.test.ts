import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakerTransition, CLOSED, countsAgainstBreaker, DEFAULT_BREAKER_CONFIG, effectiveCircuitState, probeSlotMs } from '../../src/domain/breaker.js';
import type { BreakerConfig, BreakerEvent, BreakerResult, BreakerState } from '../../src/domain/breaker.js';
import { CIRCUIT_STATES, ERROR_TYPES } from '../../src/domain/statuses.js';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const ACQUIRE: BreakerEvent = { type: 'acquire' };
const OUTCOMES = ['success', 'failure', 'neutral'] as const;
const ev = (type: (typeof OUTCOMES)[number], probe = false): BreakerEvent => ({ type, probe });
const cfg = (over: Partial<BreakerConfig> = {}): BreakerConfig => ({ ...DEFAULT_BREAKER_CONFIG, ...over });
const openShape = (at: number, c: BreakerConfig): BreakerState => ({ ...CLOSED, state: 'open', openedAt: at, nextProbeAt: at + c.openMs });

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
  it('a success resets consecutiveFailures and counts the call in the window', () => {
    const { state, results } = run(c, [[ev('failure'), T0], [ev('failure'), T0 + 1], [ev('success'), T0 + 2]]);
    expect(state).toEqual({ ...CLOSED, windowCalls: 3, windowFailures: 2, windowStartedAt: T0 });
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

describe('failure-rate mode', () => {
  const c = cfg({ failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 4, windowMs: 10_000 });
  it.each([
    ['FFF', 'closed'], // 100% but fewer than minimumCalls
    ['FFFF', 'open'],
    ['SSFF', 'open'], // exactly 0.5
    ['SFSF', 'open'],
    ['SSSF', 'closed'], // 0.25
    ['SSSFF', 'closed'], // 0.4
    ['SSSFFF', 'open'], // 0.5
    ['SSSSSSFFFF', 'closed'], // 0.4
  ])('%s -> %s', (seq, expected) => {
    const steps = [...seq].map((ch, i): [BreakerEvent, number] => [ev(ch === 'F' ? 'failure' : 'success'), T0 + i]);
    const { state, results } = run(c, steps);
    expect(state.state).toBe(expected);
    expect(results.filter((r) => r.transition === 'open')).toHaveLength(expected === 'open' ? 1 : 0);
    if (expected === 'open') expect(results.at(-1)!.transition).toBe('open');
  });
  it('the window resets after windowMs', () => {
    const three = run(c, times(3, [ev('failure'), T0] as [BreakerEvent, number])).state;
    expect(three).toMatchObject({ windowCalls: 3, windowFailures: 3, windowStartedAt: T0 });
    expect(breakerTransition(three, ev('failure'), c, T0 + 9_999).state.state).toBe('open');
    const rolled = breakerTransition(three, ev('failure'), c, T0 + 10_000);
    expect(rolled).toEqual({ state: { ...three, consecutiveFailures: 4, windowCalls: 1, windowFailures: 1, windowStartedAt: T0 + 10_000 } });
    expect(breakerTransition(three, ev('success'), c, T0 + 50_000).state).toMatchObject({ windowCalls: 1, windowFailures: 0, windowStartedAt: T0 + 50_000 });
  });
  it('current behaviour: failureThreshold consecutive failures still open it (DESIGN: "or")', () => {
    const k = cfg({ failureThreshold: 3, failureRateThreshold: 0.9, minimumCalls: 100 });
    expect(opened(k).state).toBe('open');
  });
});

describe('open', () => {
  const c = cfg({ failureThreshold: 2, openMs: 5000, halfOpenMaxCalls: 2 });
  const s = opened(c);
  it.each([0, 1, 4999])('rejects an acquire %i ms after opening', (dt) => {
    expect(breakerTransition(s, ACQUIRE, c, T0 + dt)).toEqual({ state: s, admitted: false });
  });
  it.each([5000, 5001, 10 ** 7])('the first acquire %i ms after opening goes half-open and is a probe', (dt) => {
    const r = breakerTransition(s, ACQUIRE, c, T0 + dt);
    expect(r).toEqual({ state: { ...s, state: 'half_open', halfOpenCalls: 1, nextProbeAt: T0 + dt + probeSlotMs(c) }, admitted: true, probe: true, transition: 'half_open' });
  });
  it.each(OUTCOMES.flatMap((o) => [['open', o, false], ['open', o, true], ['half_open', o, false]] as const))('%s ignores %s (probe %s)', (st, o, probe) => {
    const from = st === 'open' ? s : halfOpen(c);
    expect(breakerTransition(from, ev(o, probe), c, T0 + 6000)).toEqual({ state: from });
  });
});

describe('half_open', () => {
  it.each([1, 2, 3])('halfOpenMaxCalls %i: admits exactly that many probes', (max) => {
    const c = cfg({ halfOpenMaxCalls: max, openMs: 1000 });
    const { state, results } = run(c, times(max + 2, [ACQUIRE, T0 + 1000] as [BreakerEvent, number]), opened(c));
    expect(results.map((r) => r.admitted)).toEqual([...times(max, true), false, false]);
    expect(results.filter((r) => r.admitted).every((r) => r.probe === true)).toBe(true);
    expect(results.map((r) => r.transition)).toEqual(['half_open', ...times(max + 1, undefined)]);
    expect(state).toMatchObject({ state: 'half_open', halfOpenCalls: max });
  });
  it('a probe failure reopens it with a new nextProbeAt', () => {
    const c = cfg({ halfOpenMaxCalls: 2, openMs: 1000 });
    const s = run(c, [[ACQUIRE, T0 + 1000]], halfOpen(c)).state;
    expect(breakerTransition(s, ev('failure', true), c, T0 + 1500)).toEqual({ state: openShape(T0 + 1500, c), transition: 'open' });
  });
  it.each([1, 2, 3])('successThreshold %i: closes after that many probe successes', (k) => {
    const c = cfg({ successThreshold: k, openMs: 1000 });
    let s = halfOpen(c);
    for (let i = 1; i < k; i++) {
      const r = breakerTransition(s, ev('success', true), c, T0 + 1000 + i);
      expect(r).toEqual({ state: { ...s, halfOpenCalls: 0, halfOpenSuccesses: i } });
      s = run(c, [[ACQUIRE, T0 + 1000 + i]], r.state).state;
      expect(s).toMatchObject({ state: 'half_open', halfOpenCalls: 1 });
    }
    expect(breakerTransition(s, ev('success', true), c, T0 + 2000)).toEqual({ state: CLOSED, transition: 'closed' });
  });
  it('a neutral probe frees its slot without counting', () => {
    const c = cfg({ successThreshold: 2, openMs: 1000 });
    const s = halfOpen(c);
    expect(breakerTransition(s, ACQUIRE, c, T0 + 1001).admitted).toBe(false);
    const freed = breakerTransition(s, ev('neutral', true), c, T0 + 1002);
    expect(freed).toEqual({ state: { ...s, halfOpenCalls: 0 } });
    expect(breakerTransition(freed.state, ACQUIRE, c, T0 + 1003)).toMatchObject({ admitted: true, probe: true });
  });
  it.each([
    [1000, 60_000],
    [59_999, 60_000],
    [120_000, 120_000],
  ])('openMs %i: probeSlotMs is %i', (openMs, slot) => expect(probeSlotMs(cfg({ openMs }))).toBe(slot));
  it.each([1000, 120_000])('openMs %i: unanswered probe slots expire at nextProbeAt and new probes are admitted', (openMs) => {
    const c = cfg({ openMs, halfOpenMaxCalls: 1 });
    const slot = probeSlotMs(c);
    const tH = T0 + openMs;
    const s = halfOpen(c);
    expect(s.nextProbeAt).toBe(tH + slot);
    expect(breakerTransition(s, ACQUIRE, c, tH + slot - 1)).toEqual({ state: s, admitted: false });
    expect(breakerTransition(s, ACQUIRE, c, tH + slot)).toEqual({ state: { ...s, halfOpenCalls: 1, nextProbeAt: tH + 2 * slot }, admitted: true, probe: true });
  });
});

describe('force_open / force_close', () => {
  const c = cfg({ failureThreshold: 2, openMs: 1000, halfOpenMaxCalls: 2 });
  const states: [string, BreakerState][] = [
    ['closed', { ...CLOSED, consecutiveFailures: 1, windowCalls: 1, windowFailures: 1, windowStartedAt: T0 }],
    ['open', opened(c)],
    ['half_open', halfOpen(c)],
  ];
  it.each(states)('force_open without a duration from %s never admits until force_close', (name, s) => {
    const r = breakerTransition(s, { type: 'force_open' }, c, T0 + 5);
    expect(r).toEqual({ state: { ...CLOSED, state: 'open', forced: true, openedAt: T0 + 5, nextProbeAt: null }, ...(name === 'open' ? {} : { transition: 'open' }) });
    const after = run(c, [[ev('failure', true), T0 + 6], [ev('success', true), T0 + 7], [ACQUIRE, T0 + 10 ** 10]], r.state);
    expect(after.results.map((x) => x.admitted)).toEqual([undefined, undefined, false]);
    expect(after.state).toBe(r.state);
    expect(effectiveCircuitState(r.state, T0 + 10 ** 12)).toBe('open');
    const closed = breakerTransition(r.state, { type: 'force_close' }, c, T0 + 10 ** 10);
    expect(closed).toEqual({ state: CLOSED, transition: 'closed' });
    expect(breakerTransition(closed.state, ACQUIRE, c, T0 + 10 ** 10)).toMatchObject({ admitted: true, probe: false });
  });
  it.each(states)('force_open with durationMs from %s probes after the duration', (_, s) => {
    const forced = breakerTransition(s, { type: 'force_open', durationMs: 7000 }, c, T0 + 5).state;
    expect(forced).toEqual({ ...CLOSED, state: 'open', forced: true, openedAt: T0 + 5, nextProbeAt: T0 + 7005 });
    expect(breakerTransition(forced, ACQUIRE, c, T0 + 7004).admitted).toBe(false);
    expect(breakerTransition(forced, ACQUIRE, c, T0 + 7005)).toMatchObject({ admitted: true, probe: true, transition: 'half_open', state: { state: 'half_open', forced: false } });
  });
  it.each(states)('force_close from %s resets to CLOSED', (name, s) => {
    expect(breakerTransition(s, { type: 'force_close' }, c, T0 + 9)).toEqual({ state: CLOSED, ...(name === 'closed' ? {} : { transition: 'closed' }) });
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
 * Drives the breaker like the executor: only admitted calls answer, with the
 * probe flag they were admitted with. `episodic`: probes still unanswered when
 * their half-open episode (or slot generation) ends are dropped and never
 * answer. Realistic: a probe may answer at any later time; it counts as dead
 * (never answers) once unanswered for probeSlotMs. In both, the probes in
 * flight are the unanswered, live ones admitted in the current episode.
 */
function simulate(c: BreakerConfig, cmds: Cmd[], episodic: boolean, seen = { concurrent: 0, expired: 0 }): boolean {
  const slot = probeSlotMs(c);
  let s = CLOSED;
  let now = T0;
  let episode = 0;
  let deadline = 0; // episodic model of the half-open slot expiry
  let calls: { probe: boolean; at: number; episode: number }[] = [];
  const inFlight = () => calls.filter((k) => k.probe && k.episode === episode).length;
  for (const cmd of cmds) {
    now += cmd.dt;
    if (!episodic) calls = calls.filter((k) => !k.probe || now - k.at < slot);
    let r: BreakerResult;
    if (cmd.op === 'acquire') {
      if (episodic && s.state === 'half_open' && inFlight() >= c.halfOpenMaxCalls && now >= deadline) {
        calls = calls.filter((k) => !k.probe); // every slot expired: those probes are dead
        [deadline, seen.expired] = [now + slot, seen.expired + 1];
      }
      r = breakerTransition(s, ACQUIRE, c, now);
      if (r.transition === 'half_open') [episode, deadline] = [episode + 1, now + slot];
      if (r.admitted) calls.push({ probe: r.probe === true, at: now, episode });
      check((r.probe === true) === (r.admitted === true && r.state.state === 'half_open'), 'probe flag', r.state);
    } else if (cmd.op === 'answer') {
      const pool = cmd.probeFirst && calls.some((k) => k.probe) ? calls.filter((k) => k.probe) : calls;
      if (pool.length === 0) continue;
      const call = pool[cmd.pick % pool.length]!;
      calls.splice(calls.indexOf(call), 1);
      r = breakerTransition(s, ev(cmd.outcome, call.probe), c, now);
    } else {
      r = breakerTransition(s, cmd.op === 'force_open' ? { type: 'force_open', durationMs: cmd.durationMs } : { type: 'force_close' }, c, now);
    }
    if (episodic && s.state === 'half_open' && r.state.state !== 'half_open') calls = calls.filter((k) => !k.probe);
    s = r.state;
    const counters = [s.consecutiveFailures, s.windowCalls, s.windowFailures, s.halfOpenCalls, s.halfOpenSuccesses];
    check(CIRCUIT_STATES.includes(s.state) && counters.every((n) => Number.isInteger(n) && n >= 0) && s.windowFailures <= s.windowCalls, 'state/counters', s);
    if (s.state === 'closed') check(s.halfOpenCalls === 0 && s.halfOpenSuccesses === 0 && s.openedAt === null && s.nextProbeAt === null && !s.forced, 'closed shape', s);
    if (s.state === 'half_open') {
      check(inFlight() <= c.halfOpenMaxCalls, `${inFlight()} probes in flight > halfOpenMaxCalls`, s);
      if (inFlight() >= 2) seen.concurrent++;
      check(s.halfOpenCalls <= c.halfOpenMaxCalls && s.halfOpenSuccesses < c.successThreshold, 'half-open counters', s);
      if (episodic) check(s.halfOpenCalls === inFlight() && s.nextProbeAt === deadline, 'half-open state agrees with the model', s);
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
  it('holds for callers whose probes answer within their own half-open episode (state agrees with the model)', () => {
    const seen = { concurrent: 0, expired: 0 };
    fc.assert(fc.property(configArb, cmdsArb, (c, cmds) => simulate(c, cmds, true, seen)), { numRuns: 300 });
    expect(seen.concurrent).toBeGreaterThan(50); // not vacuous: concurrent probes and slot expiries happened
    expect(seen.expired).toBeGreaterThan(0);
  });

  // BUG: outcomes carry no episode, so a probe admitted before a reopen (or a
  // slot-expiry reset) that answers later frees a slot of the *current*
  // episode (a success also counts towards closing it), and the expiry frees
  // every slot at once: more than halfOpenMaxCalls probes end up in flight.
  // Only the in-flight check may fail here; any other failure is a test bug.
  it.fails('holds when probes may answer late, after their episode ended', () => {
    const out = fc.check(fc.property(configArb, cmdsArb, (c, cmds) => simulate(c, cmds, false)), { numRuns: 300, seed: 20240501, endOnFailure: true });
    expect(String(out.errorInstance ?? '')).not.toMatch(/probes in flight > halfOpenMaxCalls/);
  });

  it.fails('BUG repro: late answer of a probe admitted before the reopen lets a third probe in (halfOpenMaxCalls 2)', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 2, successThreshold: 2 });
    // A, B admitted as probes; A fails (reopen); C admitted at +openMs; B (from the old episode) answers success.
    const steps: [BreakerEvent, number][] = [[ACQUIRE, T0 + 1000], [ACQUIRE, T0 + 1000], [ev('failure', true), T0 + 1100], [ACQUIRE, T0 + 2100], [ev('success', true), T0 + 2200]];
    const { state } = run(c, steps, opened(c));
    // C is the only probe of this episode in flight: one more (D) fits, a second (E) must not.
    const { results } = run(c, [[ACQUIRE, T0 + 2300], [ACQUIRE, T0 + 2300]], state);
    expect(results.map((r) => r.admitted)).toEqual([true, false]);
  });

  it.fails('BUG repro: slot expiry frees a probe admitted 1 ms earlier (probeSlotMs says "unanswered for this long")', () => {
    const c = cfg({ failureThreshold: 1, openMs: 1000, halfOpenMaxCalls: 2 });
    const slot = probeSlotMs(c);
    const tH = T0 + 1000; // A admitted at tH, B at tH + slot - 1; at tH + slot only A's slot has expired
    const { results } = run(c, [[ACQUIRE, tH], [ACQUIRE, tH + slot - 1], [ACQUIRE, tH + slot], [ACQUIRE, tH + slot + 1]], opened(c));
    expect(results.map((r) => r.admitted)).toEqual([true, true, true, false]); // B and C in flight: D must wait
  });
});
