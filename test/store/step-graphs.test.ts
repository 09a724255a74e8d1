// The group commit reads a flow's plan once: after that the lock query
// leaves it out and the FlowTx works from the remembered dependency graph.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { FLOW_COLUMNS } from '../../src/store/flow-tx.js';
import { openFlowTxs } from '../../src/store/flow-tx-batch.js';
import { createStepGraphCache } from '../../src/store/step-graphs.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

describe('step graph cache', () => {
  it('keeps the most recently used graphs up to its limit', () => {
    const cache = createStepGraphCache(2);
    cache.set('a', [{ id: 'x', dependsOn: [] }]);
    cache.set('b', []);
    cache.get('a');
    cache.set('c', []);
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.size]).toEqual([true, false, true, 2]);
  });

  it('a flow locked a second time comes without its plan and with the graph read the first time', async () => {
    const plan = normalizePlan(planSchema.parse({ name: 'g', steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }, { id: 'c', kind: 'noop', dependsOn: ['a'] }] }));
    const created = await createFlow(store.db(), { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });
    const graphs = createStepGraphCache();
    const open = () => store.db().transaction(async (client) => (await openFlowTxs(client, [created.flowId], FLOW_COLUMNS, graphs)).get(created.flowId)!);

    const first = await open();
    expect(first.flow.plan?.steps).toHaveLength(3);
    const second = await open();
    expect(second.flow.plan).toBeNull();
    expect(second.graph).toEqual([
      { id: 'a', dependsOn: [] },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['a'] },
    ]);
    expect(second.graph).toEqual(first.graph);
  });

  it('a graph evicted while the lock query waits still reaches the FlowTx (taken before the wait)', async () => {
    const plan = normalizePlan(planSchema.parse({ name: 'g', steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }] }));
    const created = await createFlow(store.db(), { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });
    const graphs = createStepGraphCache(1);
    const open = () => store.db().transaction(async (client) => (await openFlowTxs(client, [created.flowId], FLOW_COLUMNS, graphs)).get(created.flowId)!);
    await open();

    // Another transaction holds the flow; while the lock query waits, a parallel batch evicts its graph.
    const blocker = await store.db().pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM flows WHERE id = $1 FOR UPDATE', [created.flowId]);
    const opening = open();
    await new Promise((r) => setTimeout(r, 200));
    graphs.set('another-flow', []);
    expect(graphs.has(created.flowId)).toBe(false);
    await blocker.query('COMMIT');
    blocker.release();

    const tx = await opening;
    expect(tx.flow.plan).toBeNull();
    expect(tx.graph).toEqual([
      { id: 'a', dependsOn: [] },
      { id: 'b', dependsOn: ['a'] },
    ]);
  });
});
