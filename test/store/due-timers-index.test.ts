// steps_due_timers_idx: the bulk firing finds due timers by an index of
// their own, and FIRE_TIMERS never drives its update from it. Run without
// statistics on steps, as on a server with autovacuum off.
//
// - A burst of fired timers releases their next steps with their flows'
//   creation time as run_at, before every timer still to fire: a look for
//   due timers by steps_run_at_idx passed them all (50-116 ms a look with
//   10,000 of them in the timers benchmark).
// - Estimated at a few rows, the partial index made FIRE_TIMERS scan every
//   parked timer and probe its id list for each: 3-9 s a statement.
// - Estimated at a few rows, the due timers were collected by a bitmap scan
//   and sorted at every look, all of them, to lock the first 500.
import { describe, expect, it } from 'vitest';
import { ANY_DUE_TIMER, FIRE_TIMERS } from '../../src/store/sql/fire-timers.js';
import { beginStatement } from '../../src/store/database.js';
import { anyDueTimer, fireDueTimers, FIRING_TRANSACTION, LOCK_DUE_TIMERS } from '../../src/store/timer-firing.js';
import { explainPrepared } from '../helpers/explain-prepared.js';
import { createFlowsOf, PARKED_PAIR } from '../helpers/bulk-flows.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

describe('the due timers index', () => {
  it('finds due timers past older steps due for an attempt, and the firing goes by id', async () => {
    await store.db().query('ALTER TABLE steps SET (autovacuum_enabled = false)');
    // Released steps due for an attempt, with older run_at than any timer.
    await createFlowsOf(store.db(), [{ id: 'only', kind: 'noop' }], 1500);
    await store.db().query(`UPDATE steps SET run_at = now() - interval '1 hour' WHERE due_action = 'attempt'`);
    // 1,000 timers, all due.
    await createFlowsOf(store.db(), PARKED_PAIR, 1000);
    const { rows: timers } = await store.db().query<{ id: string }>(`UPDATE steps SET run_at = now() - interval '1 second' WHERE due_action = 'timer' RETURNING id`);
    expect(timers).toHaveLength(1000);

    // As the firing runs it: the timers walked in due order and the walk stopped at 500,
    // not all 1,000 collected by a bitmap scan and sorted.
    const lock = await explainPrepared(store.db(), LOCK_DUE_TIMERS, 'int', '500', beginStatement(FIRING_TRANSACTION));
    expect(lock).toMatch(/Index Scan using steps_due_timers_idx on steps\b/);
    expect(lock).not.toMatch(/Bitmap Heap Scan on steps\b/);
    expect(await explainPrepared(store.db(), ANY_DUE_TIMER, '', '')).toContain('steps_due_timers_idx');
    const ids = timers.slice(0, 500).map((t) => t.id).join(',');
    const fire = await explainPrepared(store.db(), FIRE_TIMERS, 'uuid[]', `'{${ids}}'::uuid[]`, beginStatement(FIRING_TRANSACTION));
    expect(fire).not.toMatch(/Seq Scan on steps\b/);
    expect(fire).not.toContain('steps_due_timers_idx');
    expect(fire).toMatch(/Index Scan using steps_pkey on steps s\b/);

    let fired = 0;
    expect(await anyDueTimer(store.db())).toBe(true);
    for (let round = 0; round < 2; round++) fired += (await fireDueTimers(store.db(), 'test-executor', 500)).fired;
    expect(fired).toBe(1000);
    expect(await anyDueTimer(store.db())).toBe(false);
  }, 90_000); // thousands of flows created, while other files run too
});
