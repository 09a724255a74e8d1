// Shared by the circuit breaker tests: a fixed clock start, event and config
// builders, and runs of events from a given state.
import { breakerTransition, CLOSED, DEFAULT_BREAKER_CONFIG } from '../../src/domain/breaker.js';
import type { BreakerConfig, BreakerEvent, BreakerResult, BreakerState } from '../../src/domain/breaker.js';

export const T0 = Date.parse('2024-05-01T00:00:00Z');
export const ACQUIRE: BreakerEvent = { type: 'acquire' };
export const OUTCOMES = ['success', 'failure', 'neutral'] as const;
export const ev = (type: (typeof OUTCOMES)[number], probe = false, epoch?: number, slot?: number): BreakerEvent => ({ type, probe, epoch, slot });
export const cfg = (over: Partial<BreakerConfig> = {}): BreakerConfig => ({ ...DEFAULT_BREAKER_CONFIG, ...over });
export const openShape = (at: number, c: BreakerConfig, probeEpoch = 0): BreakerState => ({ ...CLOSED, state: 'open', openedAt: at, nextProbeAt: at + c.openMs, probeEpoch });

/** Applies [event, at] steps in order; returns every result and the final state. */
export function run(c: BreakerConfig, steps: [BreakerEvent, number][], from: BreakerState = CLOSED): { state: BreakerState; results: BreakerResult[] } {
  let state = from;
  const results = steps.map(([e, at]) => {
    const r = breakerTransition(state, e, c, at);
    state = r.state;
    return r;
  });
  return { state, results };
}
export const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);
export const opened = (c: BreakerConfig, at = T0) => run(c, times(c.failureThreshold, [ev('failure'), at] as [BreakerEvent, number])).state;
/** Opened at T0, then half-open at T0 + openMs with one probe admitted. */
export const halfOpen = (c: BreakerConfig) => run(c, [[ACQUIRE, T0 + c.openMs]], opened(c)).state;
