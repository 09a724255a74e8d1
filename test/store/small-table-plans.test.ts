// The hot statements find their rows by index even under a plan made while
// steps was small. A prepared statement's generic plan is kept until the
// table's next ANALYZE, and with autovacuum off (as on the benchmark
// machine) that never comes: the claim's plan from a 500-row table joined
// its due rows to a sequential scan of every step, 160 ms a claim once the
// timers benchmark had 20,000 steps.
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { FINISH_ALL } from '../../src/store/flow-writes.js';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';
import { FIRE_TIMERS } from '../../src/store/sql/fire-timers.js';
import { SETTLE_SUCCESSES } from '../../src/store/sql/settle-successes.js';
import { createFlowsOf, PARKED_PAIR } from '../helpers/bulk-flows.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

async function waitSteps(limit: number): Promise<{ id: string; flow_id: string }[]> {
  return (await store.db().query<{ id: string; flow_id: string }>(`SELECT id, flow_id FROM steps WHERE step_id = 'wait' ORDER BY id LIMIT $1`, [limit])).rows;
}

function settleEntries(rows: { id: string; flow_id: string }[]): string {
  return JSON.stringify(rows.map((r) => ({ id: r.id, flow_id: r.flow_id, step_id: 'wait', owner: 'nobody', status: 'succeeded', output: null, quality: 1, attempt: 1, counted: 1, inc: 1, slots: 1, run: 0 })));
}

/** FINISH_ALL's arguments: a retry of each step (nobody holds its lease) and an update of a flow id nobody has: nothing is written. */
function finishArgs(rows: { id: string; flow_id: string }[]): string {
  const retries = rows.map((r) => ({ id: r.id, owner: 'nobody', attempt: 1, counted: 1, first_failure_at: new Date(0).toISOString(), error: null, inc: 1, delay_ms: 1, last_delay_ms: null, run: 0 }));
  const flows = rows.map((r) => ({ id: r.flow_id, input_changed: false, input: null, event_seq: 0, status: 'running', quality: null, error: null, steps_remaining: 2, steps_failed: 0, finished_at: null }));
  for (const f of flows) f.id = f.id.replace(/^.{8}/, '00000000');
  return `'[]'::jsonb, '[]'::jsonb, '${JSON.stringify(flows)}'::jsonb, '[]'::jsonb, '[]'::jsonb, '{}'::text[], '{}'::text[], '${JSON.stringify(retries)}'::jsonb`;
}

async function planText(client: pg.PoolClient, execute: string): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${execute}`);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('hot statements under plans made while steps was small', () => {
  it('still look their rows up by index', async () => {
    await store.db().query('ALTER TABLE steps SET (autovacuum_enabled = false)');
    await createFlowsOf(store.db(), PARKED_PAIR, 250);
    const client = await store.db().pool.connect();
    try {
      // Generic plans, made and cached now, while steps holds 500 rows (the settle's guard, an owner nobody holds, keeps it a no-op).
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE claim(text, int, int) AS ${CLAIM_DUE_STEPS}`);
      await client.query(`PREPARE settle(jsonb, text, int) AS ${SETTLE_SUCCESSES}`);
      await client.query(`PREPARE fire(uuid[]) AS ${FIRE_TIMERS}`);
      await client.query(`PREPARE finish(jsonb, jsonb, jsonb, jsonb, jsonb, text[], text[], jsonb) AS ${FINISH_ALL}`);
      const small = await waitSteps(64);
      await client.query(`EXECUTE claim('nobody', 64, 30000)`);
      // EXECUTE takes no bind parameters: uuids and JSON without quotes of their own go inline.
      await client.query(`EXECUTE settle('${settleEntries(small)}'::jsonb, 'nobody', 30000)`);
      await client.query(`EXECUTE fire('{${small.map((r) => r.id).join(',')}}'::uuid[])`);
      await client.query(`EXECUTE finish(${finishArgs(small)})`);

      await createFlowsOf(store.db(), PARKED_PAIR, 3000);
      const rows = await waitSteps(64);
      await client.query(`UPDATE steps SET run_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      const plans = {
        claim: await planText(client, `EXECUTE claim('nobody', 64, 30000)`),
        settle: await planText(client, `EXECUTE settle('${settleEntries(rows)}'::jsonb, 'nobody', 30000)`),
        fire: await planText(client, `EXECUTE fire('{${rows.map((r) => r.id).join(',')}}'::uuid[])`),
        finish: await planText(client, `EXECUTE finish(${finishArgs(rows)})`),
      };
      for (const [name, text] of Object.entries(plans)) expect(text, name).not.toMatch(/Seq Scan on (steps|flows)/);

      // And the claim still claims.
      const { rows: claimed } = await client.query<{ id: string }>(`EXECUTE claim('nobody', 64, 30000)`);
      expect(claimed.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
    } finally {
      await client.query('DEALLOCATE ALL');
      await client.query('RESET plan_cache_mode');
      client.release();
    }
  }, 90_000); // thousands of flows created, while other files run too
});
