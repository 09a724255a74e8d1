// FIRE_TIMERS must be driven by the ids it is given. Statistics taken while
// timers were parked in the future say that almost no step is due; a plan
// that trusted them scanned every due timer by steps_run_at_idx and probed
// the id list for each, which made a burst of 10,000 due timers fire at a
// fifth of the speed (200+ ms a statement).
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { FIRE_TIMERS } from '../../src/store/sql/fire-timers.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();
const FLOWS = 400;

describe('firing due timers', () => {
  it('looks the timers up by id, whatever the statistics say, and fires them all', async () => {
    const plan = normalizePlan(planSchema.parse({ name: 'parked', steps: [{ id: 'wait', kind: 'delay', delayMs: 3_600_000 }, { id: 'next', kind: 'noop', dependsOn: ['wait'] }] }));
    await Promise.all(
      Array.from({ length: FLOWS }, () => createFlow(store.db(), { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null })),
    );
    // Statistics from while every timer was an hour away; then they all fall due.
    await store.db().query('ANALYZE steps');
    const { rows } = await store.db().query<{ id: string }>(`UPDATE steps SET run_at = now() - interval '1 second' WHERE due_action = 'timer' RETURNING id`);
    expect(rows).toHaveLength(FLOWS);

    const client = await store.db().pool.connect();
    try {
      await client.query(`PREPARE fire_timers(uuid[]) AS ${FIRE_TIMERS}`);
      await client.query('SET plan_cache_mode = force_generic_plan');
      // EXPLAIN EXECUTE takes no bind parameters: the ids (uuids from the database) go inline.
      const ids = rows.slice(0, 200).map((r) => r.id).join(',');
      const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE fire_timers('{${ids}}'::uuid[])`);
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).not.toContain('steps_run_at_idx');
      // The ids are looked up by the primary key.
      expect(text).toMatch(/Index Scan using steps_pkey on steps\s+\(.*\)\n\s+Index Cond: \(id = ANY/);
      await client.query('DEALLOCATE fire_timers');
    } finally {
      await client.query('RESET plan_cache_mode');
      client.release();
    }

    const fired = await fireDueTimers(store.db(), 'test-executor', 500);
    expect(fired.fired).toBe(FLOWS);
    expect(fired.released).toBe(FLOWS);
  });
});
