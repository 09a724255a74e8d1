// The Circuits API's behaviour: read shared breakers, configure them, force
// them open or closed. Changes NOTIFY every replica.
import { effectiveCircuitState, type BreakerConfig } from '../../domain/breaker.js';
import { applyBreakerEvent, CIRCUIT_COLUMNS, configureCircuit, toRecord, type CircuitRecord } from '../../store/circuit-store.js';
import type { Database } from '../../store/database.js';
import { BadRequestError, NotFoundError } from '../problems.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function circuitView(r: CircuitRecord, now: number) {
  const b = r.breaker;
  return {
    key: r.key,
    state: effectiveCircuitState(b, now),
    config: r.config,
    configured: r.configured !== null,
    failures: r.config.failureRateThreshold !== null && b.state === 'closed' ? b.windowFailures : b.consecutiveFailures,
    successes: b.halfOpenSuccesses,
    calls: b.windowCalls,
    openedAt: iso(b.openedAt),
    nextProbeAt: iso(b.nextProbeAt),
    forced: b.forced,
  };
}

export function createCircuitService({ db, now = Date.now }: { db: Database; now?: () => number }) {
  return {
    async list(q: { state?: string | undefined; limit: number; cursor?: string | undefined }) {
      const after = q.cursor ? Buffer.from(q.cursor, 'base64url').toString('utf8') : '';
      if (q.cursor && !after) throw new BadRequestError('invalid cursor');
      const { rows } = await db.query(`SELECT ${CIRCUIT_COLUMNS} FROM circuits WHERE key > $1 ORDER BY key LIMIT $2`, [after, q.limit + 1]);
      const t = now();
      const page = rows.slice(0, q.limit).map((r) => circuitView(toRecord(r as never), t));
      return {
        items: q.state ? page.filter((c) => c.state === q.state) : page,
        nextCursor: rows.length > q.limit ? Buffer.from(page.at(-1)!.key).toString('base64url') : null,
      };
    },

    async get(key: string) {
      const { rows } = await db.query(`SELECT ${CIRCUIT_COLUMNS} FROM circuits WHERE key = $1`, [key]);
      if (!rows[0]) throw new NotFoundError(`circuit ${key} has never been used or configured`);
      return circuitView(toRecord(rows[0] as never), now());
    },

    async configure(key: string, config: BreakerConfig) {
      const record = await db.transaction((client) => configureCircuit(client, key, config));
      return circuitView(record, now());
    },

    async force(key: string, open: boolean, durationMs?: number) {
      const t = now();
      const r = await db.transaction((client) => applyBreakerEvent(client, key, open ? { type: 'force_open', durationMs } : { type: 'force_close' }, t));
      if (r.transition) db.facts.emit([{ kind: 'circuit', key, to: r.transition }]);
      return circuitView(r.record, t);
    },
  };
}

export type CircuitService = ReturnType<typeof createCircuitService>;
