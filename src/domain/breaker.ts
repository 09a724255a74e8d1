// The circuit breaker state machine, pure: (state, event, config, now) ->
// state. The store applies it under a row lock so every replica shares one
// breaker per key.
import type { CircuitState, ErrorType } from './statuses.js';

export interface BreakerConfig {
  /** Consecutive countable failures that open a closed breaker. */
  failureThreshold: number;
  /** Failure rate in [0, 1] over the window that opens it; null disables rate mode. */
  failureRateThreshold: number | null;
  /** Calls in the window before the rate is judged. */
  minimumCalls: number;
  /** Length of the failure-rate window, in ms. */
  windowMs: number;
  /** How long an open breaker stays open before probing, in ms. */
  openMs: number;
  /** Probes admitted at once while half-open, across all replicas. */
  halfOpenMaxCalls: number;
  /** Successful probes that close a half-open breaker. */
  successThreshold: number;
}

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = {
  failureThreshold: 5,
  failureRateThreshold: null,
  minimumCalls: 10,
  windowMs: 60000,
  openMs: 30000,
  halfOpenMaxCalls: 1,
  successThreshold: 1,
};

export interface BreakerState {
  state: CircuitState;
  consecutiveFailures: number;
  windowCalls: number;
  windowFailures: number;
  windowStartedAt: number | null;
  /** Probes admitted and not yet answered (half-open): the length of probeSlots. */
  halfOpenCalls: number;
  /**
   * Half-open: when each unanswered probe of this round was admitted (its
   * slot), oldest first. A slot unanswered for probeSlotMs expires on its own
   * (its caller may have died); the others keep theirs.
   */
  probeSlots: number[];
  halfOpenSuccesses: number;
  openedAt: number | null;
  /** Open: when probing may start (null: forced open until closed). Half-open: when the oldest unanswered probe slot expires (null: none). */
  nextProbeAt: number | null;
  forced: boolean;
  /** Which half-open round is current; probes carry it so a late answer from an earlier round is ignored. */
  probeEpoch: number;
  /**
   * Last success and last failure known to the breaker, epoch ms. Failures
   * count as consecutive only while no success is newer than the previous
   * failure: with many attempts in flight at once, "consecutive" is decided
   * by time, not by the order transactions happen to commit in.
   */
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
}

export const CLOSED: BreakerState = {
  state: 'closed',
  consecutiveFailures: 0,
  windowCalls: 0,
  windowFailures: 0,
  windowStartedAt: null,
  halfOpenCalls: 0,
  probeSlots: [],
  halfOpenSuccesses: 0,
  openedAt: null,
  nextProbeAt: null,
  forced: false,
  probeEpoch: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
};

export type BreakerEvent =
  | { type: 'acquire' }
  /**
   * `epoch`: the half-open round the probe was admitted in (undefined: the
   * current one). `slot`: when it was admitted (the `now` of its acquire);
   * undefined frees the oldest slot.
   */
  | { type: 'success'; probe: boolean; epoch?: number | undefined; slot?: number | undefined }
  /** `lastSuccessAt`: the caller's latest success on this key (it may not have been written yet). */
  | { type: 'failure'; probe: boolean; epoch?: number | undefined; slot?: number | undefined; lastSuccessAt?: number | undefined }
  /** An answer that says nothing about the dependency's health (e.g. a 400). */
  | { type: 'neutral'; probe: boolean; epoch?: number | undefined; slot?: number | undefined }
  | { type: 'force_open'; durationMs?: number | undefined }
  | { type: 'force_close' };

export interface BreakerResult {
  state: BreakerState;
  /** acquire only: whether the call may go ahead, and whether it is a probe (of round `epoch`, its slot the acquire's `now`). */
  admitted?: boolean;
  probe?: boolean;
  epoch?: number;
  /** Set when the state changed. */
  transition?: CircuitState;
}

/** Only these failures say the dependency is unhealthy. */
const COUNTABLE: readonly ErrorType[] = ['timeout', 'network', 'rate_limited', 'unavailable'];
export const countsAgainstBreaker = (errorType: ErrorType): boolean => COUNTABLE.includes(errorType);

/** Unanswered probes free their slot after this long, in ms (a replica may have died mid-probe). */
export function probeSlotMs(config: BreakerConfig): number {
  return Math.max(config.openMs, 60_000);
}

function opened(s: BreakerState, now: number, config: BreakerConfig): BreakerState {
  return { ...CLOSED, state: 'open', openedAt: now, nextProbeAt: now + config.openMs, probeEpoch: s.probeEpoch };
}

function rollWindow(s: BreakerState, config: BreakerConfig, now: number): BreakerState {
  if (s.windowStartedAt !== null && now - s.windowStartedAt < config.windowMs) return s;
  return { ...s, windowCalls: 0, windowFailures: 0, windowStartedAt: now };
}

/** Consecutive failures, or in rate mode (failureRateThreshold set) the failure rate of a full enough window. */
function trips(s: BreakerState, config: BreakerConfig): boolean {
  if (config.failureRateThreshold === null) return s.consecutiveFailures >= config.failureThreshold;
  return s.windowCalls >= config.minimumCalls && s.windowFailures / s.windowCalls >= config.failureRateThreshold;
}

function changed(before: BreakerState, after: BreakerState, extra: Omit<BreakerResult, 'state' | 'transition'> = {}): BreakerResult {
  return { state: after, ...extra, ...(after.state !== before.state ? { transition: after.state } : {}) };
}

/** Half-open state holding exactly these probe slots. */
function withSlots(s: BreakerState, probeSlots: number[], config: BreakerConfig): BreakerState {
  return { ...s, probeSlots, halfOpenCalls: probeSlots.length, nextProbeAt: probeSlots.length > 0 ? probeSlots[0]! + probeSlotMs(config) : null };
}

function acquire(s: BreakerState, config: BreakerConfig, now: number): BreakerResult {
  if (s.state === 'closed') return { state: s, admitted: true, probe: false };
  if (s.state === 'open') {
    if (s.nextProbeAt === null || now < s.nextProbeAt) return { state: s, admitted: false };
    const epoch = s.probeEpoch + 1;
    const half = withSlots({ ...s, state: 'half_open', forced: false, halfOpenSuccesses: 0, probeEpoch: epoch }, [now], config);
    return changed(s, half, { admitted: true, probe: true, epoch });
  }
  // Half-open: slots unanswered for probeSlotMs expire, each on its own.
  const live = s.probeSlots.filter((at) => now - at < probeSlotMs(config));
  if (live.length >= config.halfOpenMaxCalls) return { state: s, admitted: false };
  // Replicas' clocks and lock order differ: keep the slots sorted, oldest first.
  return { state: withSlots(s, [...live, now].sort((x, y) => x - y), config), admitted: true, probe: true, epoch: s.probeEpoch };
}

/** Frees the slot of a probe admitted at `slot` (the oldest when unknown); nothing when it already expired. */
function freeSlot(s: BreakerState, slot: number | undefined, config: BreakerConfig): BreakerState {
  const i = slot === undefined ? 0 : s.probeSlots.indexOf(slot);
  if (i < 0 || s.probeSlots.length === 0) return s;
  return withSlots(s, s.probeSlots.filter((_, j) => j !== i), config);
}

export function breakerTransition(s: BreakerState, event: BreakerEvent, config: BreakerConfig, now: number): BreakerResult {
  switch (event.type) {
    case 'acquire':
      return acquire(s, config, now);
    case 'force_open':
      return changed(s, { ...CLOSED, state: 'open', forced: true, openedAt: now, nextProbeAt: event.durationMs === undefined ? null : now + event.durationMs, probeEpoch: s.probeEpoch });
    case 'force_close':
      return changed(s, { ...CLOSED, probeEpoch: s.probeEpoch });
    case 'success':
    case 'failure':
    case 'neutral':
      break;
  }
  if (s.state === 'closed') {
    if (event.type === 'neutral') return { state: s };
    const w = rollWindow(s, config, now);
    if (event.type === 'success') return changed(s, { ...w, consecutiveFailures: 0, windowCalls: w.windowCalls + 1, lastSuccessAt: now });
    const lastSuccessAt = Math.max(w.lastSuccessAt ?? -Infinity, event.lastSuccessAt ?? -Infinity);
    const known = Number.isFinite(lastSuccessAt) ? lastSuccessAt : null;
    const streak = known !== null && (w.lastFailureAt === null || known > w.lastFailureAt) ? 0 : w.consecutiveFailures;
    const next: BreakerState = {
      ...w,
      consecutiveFailures: streak + 1,
      windowCalls: w.windowCalls + 1,
      windowFailures: w.windowFailures + 1,
      lastSuccessAt: known,
      lastFailureAt: now,
    };
    return changed(s, trips(next, config) ? opened(s, now, config) : next);
  }
  // Open, or an answer that is not a probe of the current half-open round: it says nothing new.
  if (s.state === 'open' || !event.probe || (event.epoch !== undefined && event.epoch !== s.probeEpoch)) return { state: s };
  const freed = freeSlot(s, event.slot, config);
  if (event.type === 'neutral') return { state: freed };
  if (event.type === 'failure') return changed(s, opened(s, now, config));
  const successes = s.halfOpenSuccesses + 1;
  return changed(s, successes >= config.successThreshold ? { ...CLOSED, probeEpoch: s.probeEpoch } : { ...freed, halfOpenSuccesses: successes });
}

/** What a reader should see: an open breaker past its wait is half-open (it admits a probe on the next call). */
export function effectiveCircuitState(s: BreakerState, now: number): CircuitState {
  if (s.state === 'open' && s.nextProbeAt !== null && now >= s.nextProbeAt) return 'half_open';
  return s.state;
}
