// The executor's view of the shared circuit breakers. A breaker known to be
// closed (and recently seen) admits calls without a database round trip;
// anything else asks the row, which also limits half-open probes across
// replicas. State changes elsewhere arrive by NOTIFY and drop the cached view.
import { countsAgainstBreaker, type BreakerEvent, type BreakerState, type BreakerConfig } from '../domain/breaker.js';
import type { CircuitState, ErrorType } from '../domain/statuses.js';
import { CIRCUIT_CHANNEL } from '../store/channels.js';
import { applyBreakerEvent } from '../store/circuit-store.js';
import type { Database, Queryable } from '../store/database.js';
import type { Notifier } from './notifier.js';

/** `epoch`: the half-open round a probe belongs to. */
export type Admission = { admitted: true; key: string; probe: boolean; epoch?: number } | { admitted: false; key: string; nextProbeAt: number };

/** How long a cached closed breaker admits without asking the database, in ms. */
const CACHE_TTL_MS = 1000;
/** Least wait before asking an open breaker again, in ms. */
const MIN_WAIT_MS = 100;

export function createBreakerGate({ db, notifier, now = Date.now }: { db: Database; notifier?: Notifier | undefined; now?: () => number }) {
  const cache = new Map<string, { breaker: BreakerState; config: BreakerConfig; at: number }>();
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
      const t = now();
      const r = await db.transaction((client) => applyBreakerEvent(client, key, { type: 'acquire' }, t));
      if (r.transition) db.facts.emit([{ kind: 'circuit', key, to: r.transition }]);
      cache.set(key, { breaker: r.state, config: r.record.config, at: now() });
      if (r.admitted) return { admitted: true, key, probe: r.probe ?? false, ...(r.epoch !== undefined ? { epoch: r.epoch } : {}) };
      // Half-open with every probe slot taken: the probes answer soon, look again then.
      const retryAt = r.state.state === 'half_open' ? t + Math.min(r.record.config.openMs, 1000) : (r.state.nextProbeAt ?? t + r.record.config.openMs);
      return { admitted: false, key, nextProbeAt: Math.max(retryAt, t + MIN_WAIT_MS) };
    },

    /**
     * Records an attempt's outcome in the caller's transaction. A success on a
     * breaker known closed with nothing to reset writes nothing.
     */
    /** Returns the state the breaker moved to, if it moved. */
    async record(client: Queryable, admission: Extract<Admission, { admitted: true }>, errorType: ErrorType | null): Promise<CircuitState | undefined> {
      const type = errorType === null ? 'success' : countsAgainstBreaker(errorType) ? 'failure' : 'neutral';
      const event: BreakerEvent = { type, probe: admission.probe, epoch: admission.epoch };
      const known = fresh(admission.key);
      const quiet = known && known.breaker.state === 'closed' && known.breaker.consecutiveFailures === 0 && known.config.failureRateThreshold === null;
      if (!admission.probe && quiet && event.type !== 'failure') return undefined;
      const r = await applyBreakerEvent(client, admission.key, event, now());
      cache.set(admission.key, { breaker: r.state, config: r.record.config, at: now() });
      return r.transition;
    },

    close(): void {
      notifier?.off(CIRCUIT_CHANNEL, onNotify);
    },
  };
}

export type BreakerGate = ReturnType<typeof createBreakerGate>;

/** A step's breaker key: explicit, else http:<host:port> or task:<type>. */
export function breakerKey(definition: { kind: string; circuitBreaker?: string | undefined; request?: { url: string }; task?: { type: string } }): string | undefined {
  if (definition.circuitBreaker) return definition.circuitBreaker;
  if (definition.kind === 'http' && definition.request) {
    try {
      return `http:${new URL(definition.request.url).host}`;
    } catch {
      return undefined;
    }
  }
  if (definition.kind === 'task' && definition.task) return `task:${definition.task.type}`;
  return undefined;
}
