// `task` steps driven by a worker written in the test through the Tasks API:
// poll (long poll), complete, fail, heartbeat, lease expiry and the per-attempt
// timeout that heartbeats never extend.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

interface Task {
  id: string;
  flowId: string;
  stepId: string;
  type: string;
  input: unknown;
  attempt: number;
  idempotencyKey: string;
  leaseExpiresAt: string;
}

const LEASE_MS = 1000;
const FAST_RETRY = { maxAttempts: 3, backoff: 'constant', baseDelayMs: 50, jitter: 'none' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { LEASE_MS: String(LEASE_MS) } });
});
afterAll(async () => {
  await h.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll(types: string[], waitMs = 0, workerId = 'w1', max = 1): Promise<Task[]> {
  const res = await h.app.inject({ method: 'POST', url: '/v1/tasks/poll', payload: { workerId, types, max, waitMs } });
  expect(res.statusCode).toBe(200);
  return (res.json() as { tasks: Task[] }).tasks;
}

/** Polls until one task of `type` arrives (or fails the test after `timeoutMs`). */
async function pollOne(type: string, timeoutMs = 10_000): Promise<Task> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const tasks = await poll([type], 1000);
    if (tasks.length > 0) {
      expect(tasks).toHaveLength(1);
      return tasks[0]!;
    }
  }
  throw new Error(`no task of type ${type} within ${timeoutMs} ms`);
}

const post = (url: string, payload: object = {}) => h.app.inject({ method: 'POST', url, payload });
const complete = (id: string, output: unknown) => post(`/v1/tasks/${id}/complete`, { output });
const fail = (id: string, error: Record<string, unknown>) => post(`/v1/tasks/${id}/fail`, { error });
const heartbeat = (id: string) => post(`/v1/tasks/${id}/heartbeat`);

function taskFlow(type: string, step: Record<string, unknown> = {}, input: unknown = {}) {
  return { name: `tasks-${type}`, input, steps: [{ id: 'work', kind: 'task', task: { type }, ...step }] };
}

describe('task steps', () => {
  it('completes with the worker output; input rendered, idempotency key and attempt given', async () => {
    const type = 'calc-basic';
    const sub = await h.submit({
      name: 'task-basic',
      input: { x: 7 },
      steps: [
        { id: 'work', kind: 'task', task: { type, input: { q: '{% $input.x %}', twice: '{% $input.x * 2 %}', lit: 'plain' } } },
        { id: 'after', kind: 'noop', output: { got: '{% $steps.work.output.answer %}' } },
      ],
    });
    expect(sub.statusCode).toBe(202);
    const flowId = sub.body.id;
    const task = await pollOne(type);
    expect(task).toMatchObject({ flowId, stepId: 'work', type, input: { q: 7, twice: 14, lit: 'plain' }, attempt: 1, idempotencyKey: `${flowId}:work` });
    const lease = Date.parse(task.leaseExpiresAt) - Date.now();
    expect(lease).toBeGreaterThan(0);
    expect(lease).toBeLessThanOrEqual(LEASE_MS + 200);

    // Nobody else gets the claimed task.
    expect(await poll([type], 0, 'w2')).toEqual([]);

    const done = await complete(task.id, { answer: 42 });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ status: 'accepted' });

    const flow = await h.waitFor(flowId, ['completed']);
    const work = flow.steps.find((s) => s.id === 'work')!;
    expect(work).toMatchObject({ status: 'succeeded', attempts: 1, strategy: null, output: { answer: 42 } });
    expect(flow.output).toMatchObject({ work: { answer: 42 }, after: { got: 42 } });

    // A second answer for the same task is refused: the task is finished.
    const again = await complete(task.id, { answer: 43 });
    expect(again.statusCode).toBe(409);
    expect((await h.flow(flowId)).output).toMatchObject({ work: { answer: 42 } });
  }, 30_000);

  it('long poll issued before submission returns the task soon after it is offered', async () => {
    const type = 'calc-longpoll';
    const polled = (async () => {
      const t0 = Date.now();
      const tasks = await poll([type], 5000, 'long');
      return { tasks, at: Date.now(), t0 };
    })();
    await sleep(300);
    const submittedAt = Date.now();
    const sub = await h.submit(taskFlow(type, {}, { n: 1 }));
    const { tasks, at, t0 } = await polled;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ flowId: sub.body.id, stepId: 'work', attempt: 1 });
    expect(at - submittedAt).toBeLessThan(2000);
    expect(at - t0).toBeLessThan(4000);
    expect((await complete(tasks[0]!.id, 'ok')).statusCode).toBe(200);
    const flow = await h.waitFor(sub.body.id, ['completed']);
    expect(flow.output).toEqual({ work: 'ok' });
  }, 30_000);

  it('a retryable worker failure is retried per the step policy with the same idempotency key', async () => {
    const type = 'calc-retry';
    const sub = await h.submit(taskFlow(type, { retry: FAST_RETRY }));
    const first = await pollOne(type);
    expect(first.attempt).toBe(1);
    const failed = await fail(first.id, { message: 'backend down', type: 'unavailable' });
    expect(failed.statusCode).toBe(200);

    const second = await pollOne(type);
    expect(second.attempt).toBe(2);
    expect(second.id).not.toBe(first.id);
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    expect((await complete(second.id, { v: 2 })).statusCode).toBe(200);

    const flow = await h.waitFor(sub.body.id, ['completed']);
    const work = flow.steps[0]!;
    expect(work).toMatchObject({ status: 'succeeded', attempts: 2, strategy: 'retry', output: { v: 2 } });
    expect(work.history.map((a) => [a.number, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(work.history[0]!.error).toMatchObject({ errorType: 'unavailable', message: 'backend down', retryable: true });
    const decided = (await h.events(sub.body.id)).filter((e) => e.type === 'recovery.decided');
    expect(decided.map((e) => [e.data.strategy, e.data.delayMs])).toEqual([['retry', 50]]);
  }, 30_000);

  it('a failure reported with retryable false fails the step and the flow at once', async () => {
    const type = 'calc-noretry';
    const sub = await h.submit(taskFlow(type, { retry: FAST_RETRY }));
    const task = await pollOne(type);
    expect((await fail(task.id, { message: 'permanently down', type: 'unavailable', retryable: false })).statusCode).toBe(200);
    const flow = await h.waitFor(sub.body.id, ['failed']);
    expect(flow.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(flow.steps[0]!.error).toMatchObject({ errorType: 'unavailable', retryable: false, message: 'permanently down' });
    expect(await poll([type], 300)).toEqual([]);
    // Answering a finished task is a conflict, not a second failure.
    expect((await fail(task.id, { message: 'again' })).statusCode).toBe(409);
  }, 30_000);

  it('an expired lease fails the attempt as timeout and offers the task again; stale and unknown ids are refused', async () => {
    const type = 'calc-lease';
    const sub = await h.submit(taskFlow(type, { retry: FAST_RETRY, timeoutMs: 60_000 }));
    const first = await pollOne(type);
    const claimedAt = Date.now();
    expect(first.attempt).toBe(1);

    // Never heartbeat: the lease (LEASE_MS) runs out and the task comes back.
    const second = await pollOne(type);
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(LEASE_MS - 100);
    expect(second).toMatchObject({ attempt: 2, idempotencyKey: first.idempotencyKey, flowId: sub.body.id });
    expect(second.id).not.toBe(first.id);

    const late = await complete(first.id, { stale: true });
    expect(late.statusCode).toBe(409);
    expect(late.headers['content-type']).toContain('application/problem+json');
    expect(late.json()).toMatchObject({ status: 409 });
    expect((await heartbeat(first.id)).statusCode).toBe(409);
    expect((await fail(first.id, { message: 'late' })).statusCode).toBe(409);

    const unknown = await complete(randomUUID(), { x: 1 });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect((await heartbeat(randomUUID())).statusCode).toBe(404);

    expect((await complete(second.id, { fresh: true })).statusCode).toBe(200);
    const flow = await h.waitFor(sub.body.id, ['completed']);
    const work = flow.steps[0]!;
    expect(work).toMatchObject({ status: 'succeeded', attempts: 2, output: { fresh: true } });
    expect(work.history.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
    expect(work.history[0]!.error).toMatchObject({ errorType: 'timeout' });
    const failedEvents = (await h.events(sub.body.id)).filter((e) => e.type === 'attempt.failed');
    expect(failedEvents).toHaveLength(1);
    expect(failedEvents[0]!.data).toMatchObject({ attempt: 1, error: { errorType: 'timeout' } });
  }, 30_000);

  it('heartbeats keep the lease alive past LEASE_MS', async () => {
    const type = 'calc-heartbeat';
    const sub = await h.submit(taskFlow(type, { retry: FAST_RETRY, timeoutMs: 60_000 }));
    const task = await pollOne(type);
    const started = Date.now();
    let previous = Date.parse(task.leaseExpiresAt);
    while (Date.now() - started < 2500) {
      await sleep(300);
      const beat = await heartbeat(task.id);
      expect(beat.statusCode).toBe(200);
      const until = Date.parse((beat.json() as { leaseExpiresAt: string }).leaseExpiresAt);
      expect(until).toBeGreaterThanOrEqual(previous);
      expect(until).toBeGreaterThan(Date.now());
      previous = until;
    }
    // The task was never offered to anyone else meanwhile.
    expect(await poll([type], 0, 'w2')).toEqual([]);
    const done = await complete(task.id, { kept: true });
    expect(done.statusCode).toBe(200);
    const flow = await h.waitFor(sub.body.id, ['completed']);
    expect(flow.steps[0]).toMatchObject({ status: 'succeeded', attempts: 1, output: { kept: true } });
    expect(flow.steps[0]!.history.map((a) => a.outcome)).toEqual(['succeeded']);
  }, 30_000);

  it('timeoutMs bounds a task from its claim even while the worker heartbeats', async () => {
    const type = 'calc-timeout';
    const sub = await h.submit(taskFlow(type, { retry: { maxAttempts: 1 }, timeoutMs: 1500 }));
    const task = await pollOne(type);
    const claimedAt = Date.parse(task.leaseExpiresAt) - LEASE_MS; // the first lease is LEASE_MS from the claim
    const limit = claimedAt + 1500;
    let lostAt: number | undefined;
    const started = Date.now();
    while (Date.now() - started < 5000) {
      await sleep(300);
      const beat = await heartbeat(task.id);
      if (beat.statusCode !== 200) {
        expect(beat.statusCode).toBe(409);
        lostAt = Date.now();
        break;
      }
      const until = Date.parse((beat.json() as { leaseExpiresAt: string }).leaseExpiresAt);
      expect(until).toBeLessThanOrEqual(limit + 5);
    }
    expect(lostAt).toBeDefined();
    expect(lostAt!).toBeGreaterThanOrEqual(limit - 50);
    expect(lostAt! - started).toBeLessThan(3000);

    const flow = await h.waitFor(sub.body.id, ['failed']);
    const work = flow.steps[0]!;
    expect(work).toMatchObject({ status: 'failed', attempts: 1 });
    expect(work.error).toMatchObject({ errorType: 'timeout', message: 'timeout after 1500 ms' });
    expect((await complete(task.id, { tooLate: true })).statusCode).toBe(409);
  }, 30_000);

  it('a task step logs step.started exactly once', async () => {
    const type = 'calc-events';
    const sub = await h.submit(taskFlow(type));
    const task = await pollOne(type);
    expect((await complete(task.id, { ok: 1 })).statusCode).toBe(200);
    await h.waitFor(sub.body.id, ['completed']);
    const types = (await h.events(sub.body.id)).map((e) => e.type);
    expect(types).toEqual(['flow.started', 'step.started', 'step.succeeded', 'flow.completed']);
  }, 30_000);

  it('a late answer for a task whose flow was cancelled is 409, not 404', async () => {
    const type = 'calc-cancelled';
    const sub = await h.submit(taskFlow(type, { timeoutMs: 60_000 }));
    const task = await pollOne(type);
    expect((await post(`/v1/flows/${sub.body.id}/cancel`, {})).statusCode).toBe(200);
    await h.waitFor(sub.body.id, ['cancelled']);
    const beat = await heartbeat(task.id);
    const late = await complete(task.id, { late: true });
    expect([beat.statusCode, late.statusCode]).toEqual([409, 409]);
  }, 30_000);

  it('a worker answer counts for the breaker as what its task was offered as: one offered before the breaker opened is no probe', async () => {
    const type = `probe-${randomUUID().slice(0, 8)}`;
    const key = `task:${type}`;
    const circuit = async () => ((await h.app.inject({ method: 'GET', url: `/v1/circuits/${key}` })).json() as { state: string }).state;
    const once = { retry: { maxAttempts: 1 } };
    const config = { failureThreshold: 1, openMs: 300, halfOpenMaxCalls: 1, successThreshold: 1 };
    expect((await h.app.inject({ method: 'PUT', url: `/v1/circuits/${key}`, payload: config })).statusCode).toBe(200);
    // C is offered while the breaker is closed; its worker holds it.
    expect((await h.submit(taskFlow(type, once))).statusCode).toBe(202);
    const c = await pollOne(type);
    // A fails: the breaker opens.
    expect((await h.submit(taskFlow(type, once))).statusCode).toBe(202);
    const a = await pollOne(type);
    expect((await fail(a.id, { message: 'down', type: 'unavailable' })).statusCode).toBe(200);
    expect(await circuit()).toBe('open');
    expect((await heartbeat(c.id)).statusCode).toBe(200);
    // Past openMs, B is offered as the half-open round's one probe.
    await sleep(config.openMs + 50);
    expect((await h.submit(taskFlow(type, once))).statusCode).toBe(202);
    const b = await pollOne(type);
    expect((await heartbeat(c.id)).statusCode).toBe(200);
    // C's success is an ordinary call: it neither closes the breaker nor frees B's slot.
    expect((await complete(c.id, { ok: 'c' })).statusCode).toBe(200);
    expect(await circuit()).toBe('half_open');
    // B's success is the probe's: it closes it.
    expect((await complete(b.id, { ok: 'b' })).statusCode).toBe(200);
    expect(await circuit()).toBe('closed');
  });
});
