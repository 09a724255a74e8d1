// A `delay` step is parked on its timer the moment it becomes due: at the
// flow's creation (or by a restart) when it has no dependencies left, in the
// statement that settles its last dependency otherwise. Its delay runs from then, not from when an
// executor gets round to it, and it never takes an execution slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlowTx } from '../../src/store/flow-tx.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';
import { endFlow } from '../../src/store/transitions/flow-progress.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let idle: Harness; // no executor: only creation can have parked anything
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  idle = await startHarness({ startExecutor: false });
});
afterAll(async () => {
  await idle.close();
  await h.close();
});

interface StepTimes {
  status: string;
  dueAction: string | null;
  /** run_at minus the reference time, in ms (exact: both come from one transaction's now()). */
  sinceMs: number | null;
  startedAt: Date | null;
}

async function stepTimes(harness: Harness, flowId: string, stepId: string, reference: string): Promise<StepTimes> {
  const { rows } = await harness.db.query<StepTimes>(
    `SELECT s.status, s.due_action AS "dueAction", s.started_at AS "startedAt",
            (EXTRACT(EPOCH FROM (s.run_at - (${reference}))) * 1000)::float8 AS "sinceMs"
       FROM steps s JOIN flows f ON f.id = s.flow_id
      WHERE s.flow_id = $1 AND s.step_id = $2`,
    [flowId, stepId],
  );
  return rows[0]!;
}

/** first (noop), then wait (a delay of `delayMs`), then last (noop). */
function firstWaitLast(name: string, delayMs: number) {
  return {
    name,
    steps: [
      { id: 'first', kind: 'noop' },
      { id: 'wait', kind: 'delay', delayMs, dependsOn: ['first'] },
      { id: 'last', kind: 'noop', dependsOn: ['wait'] },
    ],
  };
}

describe('delay steps', () => {
  it('with no dependencies are parked by the statement that creates the flow, and their start is in the event log', async () => {
    const res = await idle.submit({ name: 'parked-at-creation', steps: [{ id: 'wait', kind: 'delay', delayMs: 60_000 }, { id: 'next', kind: 'noop', dependsOn: ['wait'] }] });
    expect(res.statusCode).toBe(202);
    const times = await stepTimes(idle, res.body.id, 'wait', 'f.created_at');
    expect(times).toMatchObject({ status: 'running', dueAction: 'timer', sinceMs: 60_000 });
    expect(times.startedAt).not.toBeNull();
    const events = await idle.events(res.body.id);
    expect(events.map((e) => [e.seq, e.type, e.stepId ?? null])).toEqual([
      [1, 'flow.started', null],
      [2, 'step.started', 'wait'],
    ]);
    expect(events[1]!.data).toEqual({ kind: 'delay', delayMs: 60_000 });
    // The flow's next event continues the numbering.
    const cancelled = await idle.app.inject({ method: 'POST', url: `/v1/flows/${res.body.id}/cancel` });
    expect(cancelled.statusCode).toBeLessThan(300);
    expect((await idle.events(res.body.id)).map((e) => e.seq)).toEqual(Array.from({ length: (await idle.events(res.body.id)).length }, (_, i) => i + 1));
  });

  it('released by a success are parked by the statement that settles it: the delay runs from that success', async () => {
    const res = await h.submit(firstWaitLast('parked-on-release', 60_000));
    expect(res.statusCode).toBe(202);
    const started = Date.now();
    for (;;) {
      const t = await stepTimes(h, res.body.id, 'wait', `SELECT finished_at FROM steps WHERE flow_id = f.id AND step_id = 'first'`);
      if (t.dueAction === 'timer') {
        // The same now() as the success that released it: parked in that statement.
        expect(t).toMatchObject({ status: 'running', sinceMs: 60_000 });
        break;
      }
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const events = await h.events(res.body.id);
    const types = events.map((e) => `${e.type}:${e.stepId ?? ''}`);
    expect(types.indexOf('step.succeeded:first')).toBeLessThan(types.indexOf('step.started:wait'));
    expect(events.find((e) => e.type === 'step.started' && e.stepId === 'wait')!.data).toEqual({ kind: 'delay', delayMs: 60_000 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('released by a timer fired in bulk are parked by the firing statement', async () => {
    // No executor: only the bulk firing below can release w2.
    const res = await idle.submit({
      name: 'delay-after-delay',
      steps: [
        { id: 'w1', kind: 'delay', delayMs: 3_600_000 },
        { id: 'w2', kind: 'delay', delayMs: 60_000, dependsOn: ['w1'] },
      ],
    });
    expect(res.statusCode).toBe(202);
    await idle.db.query(`UPDATE steps SET run_at = now() - interval '1 second' WHERE flow_id = $1 AND step_id = 'w1'`, [res.body.id]);
    const fired = await fireDueTimers(idle.db, 'test-executor', 500);
    expect(fired.fired).toBe(1);
    const t = await stepTimes(idle, res.body.id, 'w2', `SELECT finished_at FROM steps WHERE flow_id = f.id AND step_id = 'w1'`);
    expect(t).toMatchObject({ status: 'running', dueAction: 'timer', sinceMs: 60_000 });
    const events = await idle.events(res.body.id);
    const types = events.map((e) => `${e.type}:${e.stepId ?? ''}`);
    expect(types.filter((x) => x.startsWith('step.started'))).toEqual(['step.started:w1', 'step.started:w2']);
    expect(types.indexOf('step.succeeded:w1')).toBeLessThan(types.indexOf('step.started:w2'));
    expect(events.find((e) => e.type === 'step.started' && e.stepId === 'w2')!.data).toEqual({ kind: 'delay', delayMs: 60_000 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('parked in a transaction that then ends the flow: the start is logged before the cancellation', async () => {
    const res = await idle.submit({ name: 'ended', steps: [{ id: 'a', kind: 'noop' }, { id: 'd', kind: 'delay', delayMs: 60_000, dependsOn: ['a'] }] });
    expect(res.statusCode).toBe(202);
    // As a batch does when a success parks d and a failure of the same flow ends it.
    await runFlowTx(idle.db, res.body.id, async (tx) => {
      tx.eventLater('step.started', 'd', { kind: 'delay', delayMs: 60_000 });
      await endFlow(tx, { errorType: 'internal', message: 'b failed' }, { compensate: false, final: 'failed' });
    });
    const types = (await idle.events(res.body.id)).map((e) => `${e.type}:${e.stepId ?? ''}`);
    expect(types.indexOf('step.started:d')).toBeGreaterThan(0);
    expect(types.indexOf('step.started:d')).toBeLessThan(types.indexOf('step.cancelled:d'));
    expect(types.at(-1)).toBe('flow.failed:');
  });

  it('a parked root delay is reported started in the creation response', async () => {
    const res = await idle.submit({ name: 'response', steps: [{ id: 'wait', kind: 'delay', delayMs: 60_000 }, { id: 'next', kind: 'noop', dependsOn: ['wait'] }] });
    const steps = (res.body as unknown as { steps: { id: string; status: string; startedAt: string | null }[] }).steps;
    expect(steps.find((s) => s.id === 'wait')).toMatchObject({ status: 'running', startedAt: (res.body as unknown as { createdAt: string }).createdAt });
    expect(steps.find((s) => s.id === 'next')).toMatchObject({ status: 'pending', startedAt: null });
    const got = (await idle.app.inject({ method: 'GET', url: `/v1/flows/${res.body.id}` })).json() as { steps: { id: string; startedAt: string | null }[] };
    expect(got.steps.find((s) => s.id === 'wait')!.startedAt).toBe(steps.find((s) => s.id === 'wait')!.startedAt);
  });

  it('due at a restart are parked by the restart: the delay runs from it, and its start follows flow.restarted', async () => {
    const res = await idle.submit({ name: 'parked-at-restart', steps: [{ id: 'wait', kind: 'delay', delayMs: 60_000 }, { id: 'next', kind: 'noop', dependsOn: ['wait'] }] });
    expect((await idle.app.inject({ method: 'POST', url: `/v1/flows/${res.body.id}/cancel`, payload: { compensate: false } })).statusCode).toBe(200);
    const restarted = await idle.app.inject({ method: 'POST', url: `/v1/flows/${res.body.id}/restart`, payload: {} });
    expect(restarted.statusCode).toBe(202);
    // The restart's transaction wrote the flow's updated_at: the same now() as the timer's.
    expect(await stepTimes(idle, res.body.id, 'wait', 'f.updated_at')).toMatchObject({ status: 'running', dueAction: 'timer', sinceMs: 60_000, startedAt: expect.any(Date) });
    expect(await stepTimes(idle, res.body.id, 'next', 'f.updated_at')).toMatchObject({ status: 'pending', dueAction: null, sinceMs: null });
    const events = (await idle.events(res.body.id)).slice(-2);
    expect(events.map((e) => [e.type, e.stepId ?? null])).toEqual([
      ['flow.restarted', 'wait'],
      ['step.started', 'wait'],
    ]);
    expect(events[1]!.data).toEqual({ kind: 'delay', delayMs: 60_000 });
  });

  it('parked on release fire after their delay and the flow completes', async () => {
    const res = await h.submit(firstWaitLast('short-delay', 300));
    expect(res.statusCode).toBe(202);
    const done = await h.waitFor(res.body.id, ['completed', 'failed'], 10_000);
    expect(done.status).toBe('completed');
    const { rows } = await h.db.query<{ waitedMs: number }>(
      `SELECT (EXTRACT(EPOCH FROM (w.finished_at - f.finished_at)) * 1000)::float8 AS "waitedMs"
         FROM steps w JOIN steps f ON f.flow_id = w.flow_id AND f.step_id = 'first'
        WHERE w.flow_id = $1 AND w.step_id = 'wait'`,
      [res.body.id],
    );
    expect(rows[0]!.waitedMs).toBeGreaterThanOrEqual(300);
    const types = (await h.events(res.body.id)).map((e) => `${e.type}:${e.stepId ?? ''}`);
    expect(types.filter((t) => t === 'step.started:wait')).toHaveLength(1);
    expect(types).toContain('step.succeeded:wait');
  });
});
