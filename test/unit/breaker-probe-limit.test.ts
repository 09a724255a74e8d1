// The half-open probe limit as a property: random configurations and runs of
// acquires, answers (possibly late) and operator commands against a model of
// the probes in flight, plus the cases the property once found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakerTransition, CLOSED, probeSlotMs } from '../../src/domain/breaker.js';
import type { BreakerConfig, BreakerResult, BreakerState } from '../../src/domain/breaker.js';
import { CIRCUIT_STATES } from '../../src/domain/statuses.js';
import { ACQUIRE, cfg, ev, opened, OUTCOMES, run, T0 } from '../helpers/breaker-fixtures.js';

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
