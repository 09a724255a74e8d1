// Shared state the scrape-time gauges report: the same numbers from any replica.
import { effectiveCircuitState } from '../domain/breaker.js';
import type { SharedStateSource } from '../metrics.js';
import { CIRCUIT_COLUMNS, toRecord } from './circuit-store.js';
import type { Database } from './database.js';

export function sharedStateFromDatabase(db: Database): SharedStateSource {
  return {
    async read() {
      const [counts, circuits] = await Promise.all([
        db.query<{ escalationsOpen: number; oldestEscalationAgeSeconds: number; readySteps: number }>(
          `SELECT (SELECT count(*) FROM escalations WHERE status = 'open')::int AS "escalationsOpen",
                  (SELECT coalesce(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM escalations WHERE status = 'open')::float8 AS "oldestEscalationAgeSeconds",
                  (SELECT count(*) FROM steps WHERE run_at <= now())::int AS "readySteps"`,
        ),
        db.query(`SELECT ${CIRCUIT_COLUMNS} FROM circuits`),
      ]);
      const now = Date.now();
      return {
        ...counts.rows[0]!,
        circuits: circuits.rows.map((r) => {
          const record = toRecord(r as never);
          return { key: record.key, state: effectiveCircuitState(record.breaker, now) };
        }),
      };
    },
  };
}
