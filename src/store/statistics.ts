// Recovery statistics computed from durable records (flows, attempts,
// recovery episodes, escalations, circuits), so every replica answers the
// same and a restart loses nothing.
import { effectiveCircuitState } from '../domain/breaker.js';
import { CIRCUIT_COLUMNS, toRecord } from './circuit-store.js';
import type { Database } from './database.js';

export interface RecoveryStats {
  strategy: string;
  /** Recovery attempts made with this strategy. */
  attempts: number;
  /** Episodes this strategy ended successfully (it was the last rung applied). */
  successes: number;
  /** successes / attempts, or null without attempts. */
  successRate: number | null;
  /** Duration of the episodes it ended (first failure to resolution), in ms. */
  meanMs: number | null;
  p95Ms: number | null;
}

const num = (v: string | number | null) => (v === null ? null : Math.round(Number(v)));

export async function computeStatistics(db: Database, since: Date, now: number) {
  const [flows, attempts, episodes, errors, mttr, escalations, circuits] = await Promise.all([
    db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM flows WHERE created_at >= $1 GROUP BY status`, [since]),
    db.query<{ strategy: string; n: number }>(
      `SELECT strategy, count(*)::int AS n FROM attempts WHERE strategy IS NOT NULL AND phase = 'forward' AND started_at >= $1 GROUP BY strategy`,
      [since],
    ),
    db.query<{ strategy: string; successes: number; meanMs: string | null; p95Ms: string | null }>(
      `SELECT strategy, count(*) FILTER (WHERE outcome = 'succeeded')::int AS successes,
              avg(EXTRACT(EPOCH FROM ended_at - started_at) * 1000) AS "meanMs",
              percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM ended_at - started_at) * 1000) AS "p95Ms"
         FROM recovery_episodes WHERE ended_at >= $1 GROUP BY strategy`,
      [since],
    ),
    db.query<{ errorType: string; n: number }>(
      `SELECT error->>'errorType' AS "errorType", count(*)::int AS n FROM attempts
        WHERE outcome = 'failed' AND started_at >= $1 AND error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC`,
      [since],
    ),
    db.query<{ ms: string | null }>(
      `SELECT avg(EXTRACT(EPOCH FROM ended_at - started_at) * 1000) AS ms FROM recovery_episodes WHERE outcome = 'succeeded' AND ended_at >= $1`,
      [since],
    ),
    db.query<{ open: number; resolved: number; ms: string | null }>(
      `SELECT count(*) FILTER (WHERE status = 'open')::int AS open,
              count(*) FILTER (WHERE status = 'resolved' AND resolved_at >= $1)::int AS resolved,
              avg(EXTRACT(EPOCH FROM resolved_at - created_at) * 1000) FILTER (WHERE status = 'resolved' AND resolved_at >= $1) AS ms
         FROM escalations`,
      [since],
    ),
    db.query(`SELECT ${CIRCUIT_COLUMNS} FROM circuits WHERE state <> 'closed'`),
  ]);

  const byStrategy = new Map<string, RecoveryStats>();
  const entry = (strategy: string) => {
    let e = byStrategy.get(strategy);
    if (!e) byStrategy.set(strategy, (e = { strategy, attempts: 0, successes: 0, successRate: null, meanMs: null, p95Ms: null }));
    return e;
  };
  for (const r of attempts.rows) entry(r.strategy).attempts = r.n;
  for (const r of episodes.rows) Object.assign(entry(r.strategy), { successes: r.successes, meanMs: num(r.meanMs), p95Ms: num(r.p95Ms) });
  for (const e of byStrategy.values()) e.successRate = e.attempts > 0 ? Math.min(1, e.successes / e.attempts) : null;

  const states = circuits.rows.map((r) => effectiveCircuitState(toRecord(r as never).breaker, now));
  const esc = escalations.rows[0]!;
  return {
    since: since.toISOString(),
    flows: Object.fromEntries(flows.rows.map((r) => [r.status, r.n])),
    recoveries: [...byStrategy.values()].sort((a, b) => a.strategy.localeCompare(b.strategy)),
    errors: errors.rows.map((r) => ({ errorType: r.errorType, n: r.n })),
    mttrMs: num(mttr.rows[0]?.ms ?? null),
    escalations: { open: esc.open, resolved: esc.resolved, meanTimeToResolveMs: num(esc.ms) },
    circuits: { open: states.filter((s) => s === 'open').length, halfOpen: states.filter((s) => s === 'half_open').length },
  };
}
