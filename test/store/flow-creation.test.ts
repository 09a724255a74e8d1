// Flow creation is group-committed: flows submitted together are written by
// one statement, a repeated Idempotency-Key inside a batch still yields one
// flow, and a flow that cannot be written fails alone.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import type { Database } from '../../src/store/database.js';
import { createFlowCreator, type NewFlow } from '../../src/store/flow-creation.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

function newFlow(name: string, extra: Partial<NewFlow> = {}): NewFlow {
  const plan = normalizePlan(planSchema.parse({ name, steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }] }));
  return { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null, ...extra };
}

/** The database, with every statement counted. */
function counting(): { db: Database; statements: number[] } {
  const statements: number[] = [];
  const query = ((...args: Parameters<Database['query']>) => {
    statements.push(1);
    return store.db().query(...args);
  }) as Database['query'];
  return { db: { ...store.db(), query }, statements };
}

async function countRows(sql: string, values: unknown[]): Promise<number> {
  return Number((await store.db().query<{ n: string }>(sql, values)).rows[0]!.n);
}

describe('group-committed flow creation', () => {
  it('writes 40 flows submitted together with one statement, each with its steps and first event', async () => {
    const { db: counted, statements } = counting();
    const creator = createFlowCreator(counted);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => creator.create(newFlow(`together-${i}`))));

    expect(statements).toHaveLength(1);
    const ids = results.map((r) => r.flowId);
    expect(new Set(ids).size).toBe(40);
    expect(results.every((r) => r.created)).toBe(true);
    expect(await countRows(`SELECT count(*) AS n FROM steps WHERE flow_id = ANY($1::uuid[])`, [ids])).toBe(80);
    expect(await countRows(`SELECT count(*) AS n FROM flow_events WHERE flow_id = ANY($1::uuid[]) AND seq = 1 AND type = 'flow.started'`, [ids])).toBe(40);
    expect(await countRows(`SELECT count(*) AS n FROM steps WHERE flow_id = ANY($1::uuid[]) AND due_action = 'attempt' AND run_at IS NOT NULL`, [ids])).toBe(40);
  });

  it('a key repeated within one batch creates one flow; the repeat gets it back as the same request', async () => {
    const creator = createFlowCreator(store.db());
    const key = `key-${Date.now()}`;
    const [first, second, other] = await Promise.all([
      creator.create(newFlow('keyed', { idempotencyKey: key, requestHash: 'same' })),
      creator.create(newFlow('keyed', { idempotencyKey: key, requestHash: 'same' })),
      creator.create(newFlow('keyed', { idempotencyKey: key, requestHash: 'different' })),
    ]);
    expect(first).toMatchObject({ created: true });
    expect(second).toEqual({ created: false, flowId: first.flowId, sameRequest: true });
    expect(other).toEqual({ created: false, flowId: first.flowId, sameRequest: false });
    expect(await countRows(`SELECT count(*) AS n FROM flows WHERE idempotency_key = $1`, [key])).toBe(1);
  });

  it('stores deadlines up to the longest a plan may have (365 days, past a 32-bit count of ms)', async () => {
    const creator = createFlowCreator(store.db());
    const flow = newFlow('long-deadline');
    flow.plan.deadlineMs = 365 * 86_400_000;
    const created = await creator.create(flow);
    const { rows } = await store.db().query<{ days: number }>(`SELECT round(EXTRACT(EPOCH FROM (deadline_at - created_at)) / 86400)::int AS days FROM flows WHERE id = $1`, [created.flowId]);
    expect(rows[0]!.days).toBe(365);
  });

  it('a flow the database refuses fails alone; the rest of its batch is written', async () => {
    const creator = createFlowCreator(store.db());
    const bad = newFlow('bad');
    bad.plan.steps[1]!.id = bad.plan.steps[0]!.id; // two steps with one id: the unique index refuses it
    const outcomes = await Promise.allSettled([creator.create(newFlow('fine-1')), creator.create(bad), creator.create(newFlow('fine-2'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await countRows(`SELECT count(*) AS n FROM flows WHERE name IN ('fine-1', 'fine-2', 'bad')`, [])).toBe(2);
  });

  it('a key repeated across parallel statements waits until its first use is written: no two statements in flight share a key', async () => {
    const inFlight = new Set<string>();
    let overlaps = 0;
    const query = (async (config: { values: [string] }) => {
      const keys = (JSON.parse(config.values[0]) as { idempotency_key: string | null }[]).flatMap((f) => (f.idempotency_key ? [f.idempotency_key] : []));
      for (const k of keys) {
        if (inFlight.has(k)) overlaps++;
        inFlight.add(k);
      }
      try {
        return await store.db().query(config as never);
      } finally {
        for (const k of keys) inFlight.delete(k);
      }
    }) as unknown as Database['query'];
    // One flow per statement, four statements at once: the old batching ran each key's repeats side by side.
    const creator = createFlowCreator({ ...store.db(), query }, { maxBatch: 1, maxParallel: 4 });
    const tag = Date.now();
    const keys = [`k1-${tag}`, `k2-${tag}`, `k1-${tag}`, `k2-${tag}`, `k1-${tag}`];
    const results = await Promise.all(keys.map((key) => creator.create(newFlow('parallel-keys', { idempotencyKey: key, requestHash: 'h' }))));

    expect(overlaps).toBe(0);
    expect(results.filter((r) => r.created)).toHaveLength(2);
    expect(new Set(results.map((r) => r.flowId)).size).toBe(2);
  });

  it('a batch stops at its size budget; a flow larger than the budget goes alone', async () => {
    const { db: counted, statements } = counting();
    const creator = createFlowCreator(counted, { maxBatchChars: 1 });
    const results = await Promise.all([creator.create(newFlow('budget-1')), creator.create(newFlow('budget-2')), creator.create(newFlow('budget-3'))]);
    expect(results.every((r) => r.created)).toBe(true);
    expect(statements).toHaveLength(3);
  });
});
