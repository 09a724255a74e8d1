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
/** How often a process writes a plain success's time to the row, in ms. */
const SUCCESS_WRITE_INTERVAL_MS = 1000;
/** Least wait before asking an open breaker again, in ms. */
const MIN_WAIT_MS = 100;

export function createBreakerGate({ db, notifier, now = Date.now }: { db: Database; notifier?: Notifier | undefined; now?: () => number }) {
  const cache = new Map<string, { breaker: BreakerState; config: BreakerConfig; at: number }>();
  /** This process's latest success per key, and when it last wrote one (at most once a second). */
  const lastSuccess = new Map<string, number>();
  const lastSuccessWritten = new Map<string, number>();
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
     * Records an attempt's outcome in the caller's transaction. The common
     * case, a success on a closed breaker without rate counting, writes the
     * success time at most once a second (failures compare against it);
     * everything else goes through the state machine under the row lock.
     * Returns the state the breaker moved to, if it moved.
     */
    async record(client: Queryable, admission: Extract<Admission, { admitted: true }>, errorType: ErrorType | null): Promise<CircuitState | undefined> {
      const type = errorType === null ? 'success' : countsAgainstBreaker(errorType) ? 'failure' : 'neutral';
      const known = fresh(admission.key);
      const plain = !admission.probe && known !== undefined && known.breaker.state === 'closed' && known.config.failureRateThreshold === null;
      if (plain && type === 'neutral') return undefined;
      const t = now();
      if (type === 'success') lastSuccess.set(admission.key, t);
      if (plain && type === 'success') {
        // Other replicas learn of successes at most a second late; this one passes its own with each failure.
        if (t - (lastSuccessWritten.get(admission.key) ?? 0) < SUCCESS_WRITE_INTERVAL_MS) return undefined;
        lastSuccessWritten.set(admission.key, t);
        await client.query(`UPDATE circuits SET last_success_at = GREATEST(coalesce(last_success_at, $2), $2) WHERE key = $1`, [admission.key, new Date(t)]);
        return undefined;
      }
      const event: BreakerEvent =
        type === 'failure'
          ? { type, probe: admission.probe, epoch: admission.epoch, lastSuccessAt: lastSuccess.get(admission.key) }
          : { type, probe: admission.probe, epoch: admission.epoch };
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
