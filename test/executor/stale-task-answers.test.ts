// A worker that still holds a task when the task's flow is restarted has lost
// its lease: complete, fail and heartbeat answer 409 (not 404, the task did
// exist), before and after the restarted step is claimed again, and change
// nothing; the restarted step is offered to the next poll and its new task
// completes the flow. An id that never was a task stays 404.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type EventBody, type Harness } from '../helpers/harness.js';

interface Task {
  id: string;
  flowId: string;
  stepId: string;
  attempt: number;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

const post = (url: string, payload: object = {}) => h.app.inject({ method: 'POST', url, payload });
const complete = (id: string, output: unknown) => post(`/v1/tasks/${id}/complete`, { output });
const fail = (id: string) => post(`/v1/tasks/${id}/fail`, { error: { message: 'late failure', type: 'unavailable', retryable: false } });
const heartbeat = (id: string) => post(`/v1/tasks/${id}/heartbeat`);

/** Polls until one task of `type` arrives (or fails the test after `timeoutMs`). */
async function pollOne(type: string, timeoutMs = 10_000): Promise<Task> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const res = await post('/v1/tasks/poll', { workerId: 'w', types: [type], max: 1, waitMs: 1000 });
    expect(res.statusCode).toBe(200);
    const tasks = (res.json() as { tasks: Task[] }).tasks;
    if (tasks.length > 0) return tasks[0]!;
  }
  throw new Error(`no task of type ${type} within ${timeoutMs} ms`);
}

/** Complete, fail and heartbeat of `taskId` are each a 409 problem. */
async function expectLeaseLost(taskId: string): Promise<void> {
  for (const res of [await complete(taskId, { stale: true }), await fail(taskId), await heartbeat(taskId)]) {
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 409, detail: expect.stringContaining(taskId) });
  }
}

const after = (events: EventBody[], type: string) => events.slice(events.findLastIndex((e) => e.type === type) + 1);
const OUTCOMES = ['attempt.failed', 'step.succeeded', 'step.failed', 'flow.completed', 'flow.failed'];

/** Nothing settled the flow's steps since its restart, and `stepId` made no attempt. */
async function expectUntouchedSinceRestart(flowId: string, stepId: string): Promise<void> {
  const flow = await h.flow(flowId);
  expect(flow.status).toBe('running');
  expect(flow.output).toEqual({});
  expect(flow.steps.find((s) => s.id === stepId)).toMatchObject({ attempts: 0, output: null, error: null });
  const types = after(await h.events(flowId), 'flow.restarted').map((e) => e.type);
  expect(types.filter((t) => OUTCOMES.includes(t))).toEqual([]);
}

describe('answers to a task superseded by a restart', () => {
  it('are 409 after cancel and restart, before and after the step is claimed again; the new task completes the flow', async () => {
    const type = `stale-cancel-${randomUUID().slice(0, 8)}`;
    const sub = await h.submit({ name: 'stale-cancel', steps: [{ id: 'work', kind: 'task', task: { type }, timeoutMs: 60_000 }] });
    const flowId = sub.body.id;
    const old = await pollOne(type);
    expect((await post(`/v1/flows/${flowId}/cancel`, { compensate: false })).statusCode).toBe(200);
    expect((await post(`/v1/flows/${flowId}/restart`, {})).statusCode).toBe(202);

    await expectLeaseLost(old.id);
    await expectUntouchedSinceRestart(flowId, 'work');

    const fresh = await pollOne(type);
    expect(fresh).toMatchObject({ flowId, stepId: 'work', attempt: 1 });
    expect(fresh.id).not.toBe(old.id);
    await expectLeaseLost(old.id);
    await expectUntouchedSinceRestart(flowId, 'work');

    expect((await heartbeat(fresh.id)).statusCode).toBe(200);
    expect((await complete(fresh.id, { fresh: true })).statusCode).toBe(200);
    const done = await h.waitFor(flowId, ['completed']);
    expect(done.output).toEqual({ work: { fresh: true } });
    expect(done.steps[0]!.history.map((a) => a.outcome)).toEqual(['succeeded']);
  }, 30_000);

  it('are 409 when a sibling failed the flow and the restart runs the cancelled task step again', async () => {
    const type = `stale-failed-${randomUUID().slice(0, 8)}`;
    const sub = await h.submit({
      name: 'stale-failed',
      steps: [
        { id: 'work', kind: 'task', task: { type: `${type}-work` }, timeoutMs: 60_000 },
        { id: 'breaks', kind: 'task', task: { type: `${type}-breaks` }, retry: { maxAttempts: 1 }, dependsOn: [] },
      ],
    });
    const flowId = sub.body.id;
    const held = await pollOne(`${type}-work`);
    const breaking = await pollOne(`${type}-breaks`);
    expect((await fail(breaking.id)).statusCode).toBe(200);
    const failed = await h.waitFor(flowId, ['failed']);
    expect(failed.steps.map((s) => [s.id, s.status])).toEqual([
      ['work', 'cancelled'],
      ['breaks', 'failed'],
    ]);
    expect((await post(`/v1/flows/${flowId}/restart`, {})).statusCode).toBe(202);

    await expectLeaseLost(held.id);
    await expectUntouchedSinceRestart(flowId, 'work');

    const work = await pollOne(`${type}-work`);
    const breaks = await pollOne(`${type}-breaks`);
    await expectLeaseLost(held.id);
    expect((await complete(work.id, { w: 1 })).statusCode).toBe(200);
    expect((await complete(breaks.id, { b: 1 })).statusCode).toBe(200);
    const done = await h.waitFor(flowId, ['completed']);
    expect(done.output).toEqual({ work: { w: 1 }, breaks: { b: 1 } });
  }, 30_000);

  it('an id that never was a task is 404 for complete, fail and heartbeat', async () => {
    const id = randomUUID();
    for (const res of [await complete(id, {}), await fail(id), await heartbeat(id)]) {
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 404 });
    }
  });
});
