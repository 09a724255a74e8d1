// Due timers fire in bulk without an execution slot: with the executor's
// only slot held by a slow http step, 20 delay steps still fire on time,
// recorded as their one attempt would be; the steps they release run when a
// slot frees up.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => {
  h = await startHarness({ executor: { concurrency: 1 } });
  up = await startUpstream();
});
afterAll(async () => {
  await h.close();
  await up.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: h.database.url });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

describe('timers fired in bulk', () => {
  it('fire on time while every execution slot is busy, as their attempt would record them', async () => {
    const SLOW_MS = 4000;
    up.on('/slow', () => ({ delayMs: SLOW_MS, body: { ok: true } }));
    up.on('/after', () => ({ body: { ok: true } }));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const plan = {
        name: 'bulk-timer',
        steps: [{ id: 'wait', kind: 'delay', delayMs: 1500 }, ...(i === 0 ? [{ id: 'after', kind: 'http', request: { method: 'POST', url: `${up.url}/after` } }] : [])],
      };
      const sub = await h.submit(plan);
      expect(sub.statusCode).toBe(202);
      ids.push(sub.body.id);
    }
    // Every timer parked (their run_at is their due time), then the slow step takes the one slot.
    let parked: { flowId: string; dueAt: Date }[] = [];
    for (let t = 0; t < 100 && parked.length < ids.length; t++) {
      parked = await query(`SELECT flow_id AS "flowId", run_at AS "dueAt" FROM steps WHERE flow_id = ANY($1::uuid[]) AND step_id = 'wait' AND due_action = 'timer'`, [ids]);
      if (parked.length < ids.length) await sleep(50);
    }
    expect(parked).toHaveLength(ids.length);
    const slow = await h.submit({ name: 'slot-holder', steps: [{ id: 'slow', kind: 'http', request: { url: `${up.url}/slow` } }] });
    for (let t = 0; t < 100 && up.to('/slow').length === 0; t++) await sleep(20);
    expect(up.to('/slow')).toHaveLength(1);
    const slowStarted = Date.now();

    const lastDue = Math.max(...parked.map((p) => p.dueAt.getTime()));
    await sleep(Math.max(0, lastDue - Date.now()) + 700);
    expect(Date.now() - slowStarted).toBeLessThan(SLOW_MS); // the slot is still held

    const fired = await query<{ flowId: string; at: Date; data: Record<string, unknown> }>(
      `SELECT flow_id AS "flowId", at, data FROM flow_events WHERE flow_id = ANY($1::uuid[]) AND type = 'step.succeeded' AND step_id = 'wait'`,
      [ids],
    );
    expect(fired).toHaveLength(ids.length);
    const dueOf = new Map(parked.map((p) => [p.flowId, p.dueAt.getTime()]));
    for (const e of fired) {
      expect(e.at.getTime() - dueOf.get(e.flowId)!).toBeGreaterThanOrEqual(0);
      expect(e.at.getTime() - dueOf.get(e.flowId)!).toBeLessThan(700);
      expect(e.data).toEqual({ attempt: 1, alternativeId: null, strategy: null, quality: 1 });
    }
    // The flows of a delay alone are complete; the one with a step after it waits for the slot.
    for (const id of ids.slice(1)) expect((await h.flow(id)).status).toBe('completed');
    const first = await h.flow(ids[0]!);
    expect(first.status).toBe('running');
    expect(first.steps.map((s) => [s.id, s.status])).toEqual([['wait', 'succeeded'], ['after', 'scheduled']]);
    const attempts = await query<{ number: number; outcome: string; executedBy: string; phase: string }>(
      `SELECT number, outcome, executed_by AS "executedBy", phase FROM attempts WHERE flow_id = ANY($1::uuid[]) AND step_id = 'wait'`,
      [ids],
    );
    expect(attempts).toHaveLength(ids.length);
    for (const a of attempts) expect(a).toEqual({ number: 1, outcome: 'succeeded', executedBy: h.executor.owner, phase: 'forward' });

    // Once the slow step is done, the released step runs and its flow completes.
    const done = await h.submit({ name: 'noop', steps: [{ id: 'n', kind: 'noop' }] }, { waitMs: SLOW_MS + 10_000 });
    expect(done.body.status).toBe('completed');
    for (let t = 0; t < 100 && (await h.flow(ids[0]!)).status !== 'completed'; t++) await sleep(100);
    expect((await h.flow(ids[0]!)).status).toBe('completed');
    expect((await h.flow(slow.body.id)).status).toBe('completed');
    expect(up.to('/after')).toHaveLength(1);
  });
});
