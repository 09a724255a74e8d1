// Timer firings that run at once (the executor starts the next look as soon
// as the last one holds its timers) take disjoint timers and never wait for a
// flow some writer holds.
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';
import { createFlowsOf, PARKED_PAIR } from '../helpers/bulk-flows.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

/** Makes every parked timer due; returns their flows' ids. */
async function makeTimersDue(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ flowId: string }>(
    `UPDATE steps SET run_at = now() - interval '1 second' WHERE due_action = 'timer' AND status = 'running' RETURNING flow_id AS "flowId"`,
  );
  return rows.map((r) => r.flowId);
}

describe('timer firings at once', () => {
  it('take disjoint timers: 4 firings of 50 fire each of 300 timers once', async () => {
    const db = store.db();
    await createFlowsOf(db, PARKED_PAIR, 300);
    const flowIds = await makeTimersDue(db);
    expect(flowIds).toHaveLength(300);

    let fired = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const result = await fireDueTimers(db, 'test-executor', 50);
          if (result.locked === 0) return;
          fired += result.fired;
        }
      }),
    );

    expect(fired).toBe(300);
    const { rows } = await db.query<{ attempts: number; events: number; next: string }>(
      `SELECT (SELECT count(*)::int FROM attempts a WHERE a.flow_id = f.id) AS attempts,
              (SELECT count(*)::int FROM flow_events e WHERE e.flow_id = f.id AND e.type = 'step.succeeded' AND e.step_id = 'wait') AS events,
              (SELECT s.status FROM steps s WHERE s.flow_id = f.id AND s.step_id = 'next') AS next
         FROM flows f WHERE f.id = ANY($1::uuid[])`,
      [flowIds],
    );
    expect(rows.filter((r) => r.attempts === 1 && r.events === 1 && r.next === 'scheduled')).toHaveLength(300);
    await db.query('DELETE FROM flows');
  }, 60_000);

  it('skip a flow some writer holds, without waiting for it, and fire its timer at a later look', async () => {
    const db = store.db();
    await createFlowsOf(db, PARKED_PAIR, 3);
    const [held, ...others] = await makeTimersDue(db);
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM flows WHERE id = $1 FOR UPDATE', [held]);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<'waited'>((resolve) => (timer = setTimeout(() => resolve('waited'), 10_000)));
      const first = await Promise.race([fireDueTimers(db, 'test-executor', 500), waited]);
      clearTimeout(timer);
      expect(first).not.toBe('waited');
      expect(first).toMatchObject({ locked: others.length, fired: others.length });
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect(await fireDueTimers(db, 'test-executor', 500)).toMatchObject({ locked: 1, fired: 1 });
    await db.query('DELETE FROM flows');
  });
});
