// The executor's batch transactions run their prepared statements on generic
// plans (TransactionOptions.genericPlans): set with the BEGIN, undone at the
// transaction's end, and asked for by the group commit and the timer firing;
// the firing also turns bitmap scans off (orderedScans) the same way.
import { describe, expect, it } from 'vitest';
import { createGroupCommitter } from '../../src/executor/group-committer.js';
import { createLogger } from '../../src/logger.js';
import { createDatabase, type Database, type TransactionOptions } from '../../src/store/database.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';
import { createFlowsOf, PARKED_PAIR } from '../helpers/bulk-flows.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

type Client = Parameters<Parameters<Database['transaction']>[0]>[0];

async function planCacheMode(client: Pick<Client, 'query'>): Promise<string> {
  return (await client.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]!.plan_cache_mode;
}

/** EXPLAIN of the prepared statement `count_at` executed with 3: a generic plan shows `$1`, a custom one the 3. */
async function countAtPlan(client: Pick<Client, 'query'>): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>('EXPLAIN EXECUTE count_at(3)');
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('generic plans in batch transactions', () => {
  it('hold for the transaction that asks for them, and only until it ends', async () => {
    // One connection, so every transaction and statement below shares it.
    const db = createDatabase({ url: store.db().url, poolSize: 1, logger: createLogger('silent') });
    try {
      await db.query('PREPARE count_at(int) AS SELECT count(*) FROM steps WHERE position = $1');
      const inside = await db.transaction(async (client) => ({ mode: await planCacheMode(client), plan: await countAtPlan(client) }), { genericPlans: true });
      expect(inside.mode).toBe('force_generic_plan');
      expect(inside.plan).toContain('$1');

      // Committed: the connection is back to the default, and plans the statement with its value.
      const client = await db.pool.connect();
      try {
        expect(await planCacheMode(client)).toBe('auto');
        expect(await countAtPlan(client)).not.toContain('$1');
      } finally {
        client.release();
      }

      // Rolled back: the same.
      await expect(
        db.transaction(async () => {
          throw new Error('rolled back');
        }, { genericPlans: true }),
      ).rejects.toThrow('rolled back');
      expect(await db.transaction((c) => planCacheMode(c))).toBe('auto');
    } finally {
      await db.close();
    }
  });

  it('are what the group commit and the timer firing run on', async () => {
    const db = store.db();
    await createFlowsOf(db, PARKED_PAIR, 1);
    const { rows } = await db.query<{ flowId: string }>(`SELECT flow_id AS "flowId" FROM steps WHERE step_id = 'wait' ORDER BY id DESC LIMIT 1`);
    const flowId = rows[0]!.flowId;

    const committer = createGroupCommitter({ db });
    expect(await committer.run(flowId, (tx) => planCacheMode(tx.client))).toBe('force_generic_plan');

    // The timer firing: its one transaction asks for generic plans.
    await db.query(`UPDATE steps SET run_at = now() - interval '1 second' WHERE flow_id = $1 AND step_id = 'wait'`, [flowId]);
    const asked: TransactionOptions[] = [];
    const recording: Database = { ...db, transaction: (fn, options) => (asked.push(options ?? {}), db.transaction(fn, options)) };
    const fired = await fireDueTimers(recording, 'generic-plans-test', 500);
    expect(fired.fired).toBe(1);
    expect(asked).toEqual([{ genericPlans: true, orderedScans: true }]);
  });

  it('leave bitmap scans off (orderedScans) for the transaction that asks, and only until it ends', async () => {
    const db = createDatabase({ url: store.db().url, poolSize: 1, logger: createLogger('silent') });
    const bitmapScans = async (client: Pick<Client, 'query'>) => (await client.query<{ enable_bitmapscan: string }>('SHOW enable_bitmapscan')).rows[0]!.enable_bitmapscan;
    try {
      const inside = await db.transaction(async (client) => ({ mode: await planCacheMode(client), bitmap: await bitmapScans(client) }), { genericPlans: true, orderedScans: true });
      expect(inside).toEqual({ mode: 'force_generic_plan', bitmap: 'off' });
      expect(await db.transaction((c) => bitmapScans(c), { genericPlans: true })).toBe('on');
      expect(await db.transaction((c) => bitmapScans(c))).toBe('on');
    } finally {
      await db.close();
    }
  });
});
