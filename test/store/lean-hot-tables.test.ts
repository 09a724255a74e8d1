// Storage of the hot path (migration 20261126050000_lean_hot_tables): a
// running flow's progress is written as a HOT update (no index entries), the
// append-only logs check no foreign key per row, and columns NULL in nearly
// every row add no index entries.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { openFlowTxs } from '../../src/store/flow-tx-batch.js';
import { finishAll } from '../../src/store/flow-writes.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

const plan = normalizePlan(planSchema.parse({ name: 'lean', steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop', dependsOn: ['a'] }] }));
const create = () => createFlow(store.db(), { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });

describe('hot-path storage', () => {
  it("writes a running flow's progress as a HOT update, even on a page filled by creation", async () => {
    // Enough flows for several pages; the first lies on a page creation filled.
    await Promise.all(Array.from({ length: 300 }, create));
    const { rows: pages } = await store.db().query<{ id: string; pages: number }>(
      `SELECT id, (SELECT count(DISTINCT (ctid::text::point)[0])::int FROM flows) AS pages FROM flows WHERE (ctid::text::point)[0] = 0 LIMIT 1`,
    );
    expect(pages[0]!.pages).toBeGreaterThan(2);
    const first = pages[0]!.id;

    const client = await store.db().pool.connect();
    try {
      await client.query('BEGIN');
      const txs = await openFlowTxs(client, [first]);
      const tx = txs.get(first)!;
      tx.event('step.started', 'a', { attempt: 1 });
      await finishAll(client, [tx]);
      const { rows } = await client.query<{ updated: string; hot: string }>(
        `SELECT pg_stat_get_xact_tuples_updated('flows'::regclass) AS updated, pg_stat_get_xact_tuples_hot_updated('flows'::regclass) AS hot`,
      );
      expect(rows[0]).toEqual({ updated: '1', hot: '1' });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('checks no foreign key on the flow events and attempts it appends', async () => {
    const { rows } = await store.db().query<{ table: string }>(
      `SELECT conrelid::regclass::text AS table FROM pg_constraint WHERE contype = 'f' AND conrelid IN ('flow_events'::regclass, 'attempts'::regclass)`,
    );
    expect(rows).toEqual([]);
  });

  it('indexes idempotency keys, deadlines, task ids and recovery strategies only where they are set', async () => {
    const { rows } = await store.db().query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE indexname IN ('flows_idempotency_key_key', 'flows_deadline_at_idx', 'steps_task_id_key', 'attempts_strategy_started_at_idx')
        ORDER BY indexname`,
    );
    expect(rows.map((r) => [r.indexname, /WHERE \((\w+) IS NOT NULL\)$/.exec(r.indexdef)?.[1]])).toEqual([
      ['attempts_strategy_started_at_idx', 'strategy'],
      ['flows_deadline_at_idx', 'deadline_at'],
      ['flows_idempotency_key_key', 'idempotency_key'],
      ['steps_task_id_key', 'task_id'],
    ]);
    // A flow without a key takes no entry; a duplicate key is still refused, a replay answered.
    const before = await store.db().query<{ n: string }>(`SELECT count(*) AS n FROM flows`);
    await create();
    const keyed = { plan, idempotencyKey: 'lean-key', requestHash: 'h', createdBy: null, traceId: null, traceparent: null };
    const [one, two] = await Promise.all([createFlow(store.db(), keyed), createFlow(store.db(), keyed)]);
    expect(one.flowId).toBe(two.flowId);
    expect([one.created, two.created].sort()).toEqual([false, true]);
    const after = await store.db().query<{ n: string }>(`SELECT count(*) AS n FROM flows`);
    expect(Number(after.rows[0]!.n) - Number(before.rows[0]!.n)).toBe(2);
  });
});
