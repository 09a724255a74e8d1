// EXPLAIN (ANALYZE, BUFFERS) of the executor's two hot reads of the work
// queue, for bench/README.md: the claim (CLAIM_DUE_STEPS, the text the
// executor runs) and the next-due read its timer sleeps on.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';

/**
 * The executor's next-due read. It is inline in src/executor/executor.ts
 * (untilNextDue), so this is a copy; explainHotQueries reports whether the
 * copy still appears there verbatim.
 */
export const NEXT_DUE_SQL = `SELECT (EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000)::float8 AS ms FROM steps WHERE run_at IS NOT NULL`;
const EXECUTOR_SOURCE = new URL('../../src/executor/executor.ts', import.meta.url);

/** The claim's arguments: an owner no executor has, a batch as large as the executor's default, the default lease (ms). */
const CLAIM_ARGS = `'bench-explain', 64, 30000`;

async function explain(c: pg.Client, statement: string): Promise<string> {
  const { rows } = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement}`);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * Plans of the claim (as a prepared statement, like the executor's: its first
 * custom plan and the generic plan Postgres may switch to after five
 * executions) and of the next-due read. The claim runs in a transaction that
 * is rolled back, so nothing is leased.
 */
export async function explainHotQueries(databaseUrl: string) {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`PREPARE bench_claim_due AS ${CLAIM_DUE_STEPS}`);
    const claim = await explain(c, `EXECUTE bench_claim_due(${CLAIM_ARGS})`);
    await c.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
    const claimGeneric = await explain(c, `EXECUTE bench_claim_due(${CLAIM_ARGS})`);
    await c.query('ROLLBACK');
    await c.query('DEALLOCATE bench_claim_due');
    const nextDue = await explain(c, NEXT_DUE_SQL);
    return {
      claimSql: CLAIM_DUE_STEPS.trim(),
      claim,
      claimGeneric,
      nextDueSql: NEXT_DUE_SQL,
      nextDue,
      nextDueSqlMatchesExecutor: readFileSync(EXECUTOR_SOURCE, 'utf8').includes(NEXT_DUE_SQL),
    };
  } finally {
    await c.end();
  }
}
