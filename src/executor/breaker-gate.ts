// The executor's view of the shared circuit breakers. A breaker known to be
// closed (and recently seen) admits calls without a database round trip;
// anything else asks the row, which also limits half-open probes across
// replicas. State changes elsewhere arrive by NOTIFY and drop the cached view.
import { countsAgainstBreaker, type BreakerEvent, type BreakerState, type BreakerConfig } from '../domain/breaker.js';
import type { ErrorType } from '../domain/statuses.js';
import { urlParts } from '../domain/url-parts.js';
import { CIRCUIT_CHANNEL } from '../store/channels.js';
import { applyBreakerEvent, applyBreakerEvents, CIRCUIT_COLUMNS, toRecord } from '../store/circuit-store.js';
import { prepared } from '../store/prepared.js';
import type { Database } from '../store/database.js';
import type { Notifier } from './notifier.js';

/** `epoch`: the half-open round a probe belongs to; `slot`: when it was admitted. */
export type Admission = { admitted: true; key: string; probe: boolean; epoch?: number; slot?: number } | { admitted: false; key: string; nextProbeAt: number };

/** How long a cached closed breaker admits without asking the database, in ms. */
const CACHE_TTL_MS = 1000;
/** How long outcomes gather before they are written, in ms. */
const FLUSH_DELAY_MS = 5;
/** Least wait before asking an open breaker again, in ms. */
const MIN_WAIT_MS = 100;

export function createBreakerGate({
  db,
  notifier,
  now = Date.now,
  onError,
}: {
  db: Database;
  notifier?: Notifier | undefined;
  now?: () => number;
  /** Reports a failed breaker write (the outcome is then lost; breakers are advisory). */
  onError?: (error: unknown) => void;
}) {
  const cache = new Map<string, { breaker: BreakerState; config: BreakerConfig; at: number }>();
  /** This process's latest success per key. */
  const lastSuccess = new Map<string, number>();
  /** Keys with a failure noted by this process since their streak was last seen reset. */
  const dirty = new Set<string>();
  /** Outcomes not yet applied, per key, in the order they were seen. */
  let pending = new Map<string, { event: BreakerEvent; at: number }[]>();
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  /** Settles once the outcomes now pending are applied. */
  let applied: Promise<void> | undefined;
  let settleApplied: (() => void) | undefined;

  function flushSoon(): void {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      void flushPending();
    }, FLUSH_DELAY_MS);
  }

  async function applyKey(key: string, events: { event: BreakerEvent; at: number }[]): Promise<void> {
    const { record, transitions } = await db.transaction((client) => applyBreakerEvents(client, key, events));
    const state = record.breaker;
    if (transitions.length > 0) db.facts.emit(transitions.map((to) => ({ kind: 'circuit' as const, key, to: to! })));
    cache.set(key, { breaker: state, config: record.config, at: now() });
    if (state.state === 'closed' && state.consecutiveFailures === 0 && !pending.has(key)) dirty.delete(key);
  }

  function flushPending(): Promise<void> {
    const settle = settleApplied;
    applied = undefined;
    settleApplied = undefined;
    flushing = flushing.then(async () => {
      const batch = pending;
      pending = new Map();
      await Promise.all(
        [...batch].map(([key, events]) => applyKey(key, events).catch((error: unknown) => onError?.(error))),
      );
      settle?.();
    });
    return flushing;
  }
  const onNotify = (key: string) => (key ? cache.delete(key) : cache.clear());
  notifier?.on(CIRCUIT_CHANNEL, onNotify);

  function fresh(key: string) {
    const c = cache.get(key);
    return c && now() - c.at < CACHE_TTL_MS ? c : undefined;
  }

  return {
    async acquire(key: string): Promise<Admission> {
      const known = fresh(key);
      if (known?.breaker.state === 'closed') return { admitted: true, key, probe: false };
      // A closed (or never used) breaker admits without a lock: read it, and only take the
      // row lock when it is open or half-open (probes are counted under the lock).
      const { rows } = await db.query(prepared(`SELECT ${CIRCUIT_COLUMNS} FROM circuits WHERE key = $1`, [key]));
      if (!rows[0] || rows[0].state === 'closed') {
        if (rows[0]) {
          const record = toRecord(rows[0] as never);
          cache.set(key, { breaker: record.breaker, config: record.config, at: now() });
        }
        return { admitted: true, key, probe: false };
      }
      const t = now();
      const r = await db.transaction((client) => applyBreakerEvent(client, key, { type: 'acquire' }, t));
      if (r.transition) db.facts.emit([{ kind: 'circuit', key, to: r.transition }]);
      cache.set(key, { breaker: r.state, config: r.record.config, at: now() });
      if (r.admitted) return { admitted: true, key, probe: r.probe ?? false, ...(r.probe ? { epoch: r.epoch, slot: t } : {}) };
      // Half-open with every probe slot taken: the probes answer soon, look again then.
      const retryAt = r.state.state === 'half_open' ? t + Math.min(r.record.config.openMs, 1000) : (r.state.nextProbeAt ?? t + r.record.config.openMs);
      return { admitted: false, key, nextProbeAt: Math.max(retryAt, t + MIN_WAIT_MS) };
    },

    /**
     * Notes an attempt's outcome. Outcomes are queued per key and applied in
     * the order they were seen, in one short transaction per key every few
     * milliseconds (never while a flow is locked). A success on a key with no
     * failure known to this process and none in the cached row is skipped
     * (undefined); otherwise the answer settles once the outcome is applied, so
     * a caller can make the breaker's state visible before the step's outcome.
     */
    record(admission: Extract<Admission, { admitted: true }>, errorType: ErrorType | null): Promise<void> | undefined {
      const key = admission.key;
      const type = errorType === null ? 'success' : countsAgainstBreaker(errorType) ? 'failure' : 'neutral';
      const known = fresh(key);
      const plain = !admission.probe && known !== undefined && known.breaker.state === 'closed' && known.config.failureRateThreshold === null;
      const t = now();
      if (type === 'success') lastSuccess.set(key, t);
      if (plain && type === 'neutral') return undefined;
      if (plain && type === 'success' && !dirty.has(key) && known.breaker.consecutiveFailures === 0) return undefined;
      if (type === 'failure') dirty.add(key);
      const event: BreakerEvent =
        type === 'failure'
          ? { type, probe: admission.probe, epoch: admission.epoch, slot: admission.slot, lastSuccessAt: lastSuccess.get(key) }
          : { type, probe: admission.probe, epoch: admission.epoch, slot: admission.slot };
      const queue = pending.get(key) ?? [];
      queue.push({ event, at: t });
      pending.set(key, queue);
      applied ??= new Promise<void>((resolve) => (settleApplied = resolve));
      flushSoon();
      return applied;
    },

    /** Applies every queued outcome now (tests, shutdown). */
    flush: () => flushPending(),

    async close(): Promise<void> {
      notifier?.off(CIRCUIT_CHANNEL, onNotify);
      if (flushTimer) clearTimeout(flushTimer);
      await flushPending();
    },
  };
}

export type BreakerGate = ReturnType<typeof createBreakerGate>;

/** A step's breaker key: explicit, else http:<host:port> or task:<type>. */
export function breakerKey(definition: { kind: string; circuitBreaker?: string | undefined; request?: { url: string }; task?: { type: string } }): string | undefined {
  if (definition.circuitBreaker) return definition.circuitBreaker;
  if (definition.kind === 'http' && definition.request) {
    const parts = urlParts(definition.request.url);
    return parts ? `http:${parts.host}` : undefined;
  }
  if (definition.kind === 'task' && definition.task) return `task:${definition.task.type}`;
  return undefined;
}
