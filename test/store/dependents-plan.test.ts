// The statements that settle steps (a success, a fired timer) find the
// settled steps' dependents by the (flow_id, step_id) index, whatever the
// statistics say. Without statistics (autovacuum off, as on the benchmark
// machine) or with stale ones (a burst of new flows), a plain join let the
// planner read every row of steps instead, for every batch: 27 ms a
// statement with 10,000 steps, 170 ms with 20,000, in the timers benchmark.
import { describe, expect, it } from 'vitest';
import { FIRE_TIMERS } from '../../src/store/sql/fire-timers.js';
import { SETTLE_SUCCESSES } from '../../src/store/sql/settle-successes.js';
import { explainPrepared } from '../helpers/explain-prepared.js';
import { createFlowsOf, PARKED_PAIR } from '../helpers/bulk-flows.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();
const FLOWS = 3000;

describe('finding dependents without statistics', () => {
  it('looks dependents up by flow, in the settle and in the timer firing', async () => {
    // No statistics on steps, as on a server with autovacuum off (or a burst since the last ANALYZE).
    await store.db().query('ALTER TABLE steps SET (autovacuum_enabled = false)');
    await createFlowsOf(store.db(), PARKED_PAIR, FLOWS);
    const { rows } = await store.db().query<{ id: string; flow_id: string }>(`SELECT id, flow_id FROM steps WHERE step_id = 'wait' LIMIT 64`);
    const ids = rows.map((r) => r.id).join(',');
    const entries = JSON.stringify(rows.map((r) => ({ id: r.id, flow_id: r.flow_id, step_id: 'wait', owner: 'x', status: 'succeeded', output: null, quality: 1, attempt: 1, counted: 1, inc: 1, slots: 1, run: 0 })));

    const settle = await explainPrepared(store.db(), SETTLE_SUCCESSES, 'jsonb, text, int', `'${entries}'::jsonb, 'x', 30000`);
    const fire = await explainPrepared(store.db(), FIRE_TIMERS, 'uuid[]', `'{${ids}}'::uuid[]`);
    for (const text of [settle, fire]) {
      expect(text).not.toMatch(/Seq Scan on steps/);
      expect(text).toMatch(/Index Scan (using|on) steps_flow_id_step_id_key/);
      expect(text).toMatch(/Index Cond: \(flow_id = [xf](_\d+)?\.flow_id\)/);
    }
  }, 90_000); // thousands of flows created, while other files run too
});
