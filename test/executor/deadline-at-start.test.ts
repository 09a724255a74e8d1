// A flow past its deadline starts nothing new. Every path that would start an
// attempt (claimed, fast-claimed after a success, a retry come due, a task to
// offer, an approval) or end a delay checks the deadline first; the flow fails
// with deadline_exceeded, compensating as its mode says, and a
// `recovery.decided` stop names the step that did not start. A worker's poll
// gets no task of an overdue flow.
//
// The deadline sweeper (a pass a second) would end these flows too, so each
// test makes the deadline pass where the sweeper cannot act first: either no
// executor runs while it passes (no sweeper), and the one started afterwards
// claims the work at once, a second before its first sweep; or the executor's
// clock jumps past a deadline that, by the database's clock the sweeper reads,
// is a minute away.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Executor, ExecutorOptions } from '../../src/executor/executor.js';
import { startHarness, type EventBody, type FlowBody, type Harness, type StepBody } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => {
  h = await startHarness({ startExecutor: false });
  up = await startUpstream();
  await h.relaxBreaker(up.url);
});
afterAll(async () => {
  await h.close();
  await up.close();
});

/** Executors started by the current test; each test starts with none running. */
const running: Executor[] = [];
/** How far the clock of an executor started with `skewedClock` runs ahead of the real one, in ms. */
let skewMs = 0;
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
  skewMs = 0;
});

/** A deadline the database (and so the sweeper) sees a minute away, in ms. */
const MINUTE_MS = 60_000;
/** How far a skewed clock jumps: past MINUTE_MS, in ms. */
const JUMP_MS = 10 * MINUTE_MS;
const skewedClock: Partial<ExecutorOptions> = { now: () => Date.now() + skewMs };

function startExecutor(options: Partial<ExecutorOptions> = {}): Executor {
  const executor = h.addExecutor(options);
  running.push(executor);
  return executor;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));
const post = (url: string, payload: object = {}) => h.app.inject({ method: 'POST', url, payload });
const callsFor = (flowId: string, path: string) => up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId));
const stepsById = (flow: FlowBody): Record<string, StepBody> => Object.fromEntries(flow.steps.map((s) => [s.id, s]));
const decisions = async (flowId: string): Promise<EventBody[]> => (await h.events(flowId)).filter((e) => e.type === 'recovery.decided');

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

async function poll(type: string, waitMs = 0): Promise<{ id: string; flowId: string }[]> {
  const res = await post('/v1/tasks/poll', { workerId: 'w', types: [type], max: 1, waitMs });
  expect(res.statusCode).toBe(200);
  return (res.json() as { tasks: { id: string; flowId: string }[] }).tasks;
}

async function pollOne(type: string, timeoutMs = 10_000): Promise<{ id: string; flowId: string }> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const [task] = await poll(type, 500);
    if (task) return task;
  }
  throw new Error(`no ${type} task within ${timeoutMs} ms`);
}

/** The flow ended by a stop at `stepId`'s start: the step failed deadline_exceeded, one stop decision names it. */
async function expectStoppedAt(flow: FlowBody, stepId: string): Promise<void> {
  expect(flow.status).toBe('failed');
  expect(flow.error).toMatchObject({ errorType: 'deadline_exceeded', stepId });
  expect(stepsById(flow)[stepId]).toMatchObject({ status: 'failed', error: { errorType: 'deadline_exceeded' } });
  const stops = (await decisions(flow.id)).filter((e) => e.data.strategy === 'stop');
  expect(stops).toHaveLength(1);
  expect(stops[0]).toMatchObject({ stepId, data: { strategy: 'stop' } });
  expect(String(stops[0]!.data.reason)).toContain('the flow passed its deadline');
}

describe('a flow past its deadline starts no step', () => {
  it('a task completed after the deadline: the next http step never calls its upstream', async () => {
    up.on('/charge', () => ({ body: { charged: true } }));
    const type = `deadline-task-${Date.now()}`;
    const offering = startExecutor();
    const sub = await h.submit({
      name: 'task-then-http',
      deadlineMs: 1500,
      steps: [
        { id: 'work', kind: 'task', task: { type } },
        { id: 'charge', kind: 'http', request: { method: 'POST', url: `${up.url}/charge` } },
      ],
    });
    expect(sub.statusCode).toBe(202);
    const flowId = sub.body.id;
    const task = await pollOne(type);
    expect(task.flowId).toBe(flowId);
    // The worker holds the task past the deadline, with no executor (and so no sweeper) running.
    await offering.stop();
    await sleepUntil(Date.parse(String(sub.body.deadlineAt)) + 100);
    expect((await post(`/v1/tasks/${task.id}/complete`, { output: { done: true } })).statusCode).toBe(200);

    // Its first claim takes the released http step at once.
    startExecutor();
    const flow = await h.waitFor(flowId, ['failed', 'completed']);
    expect(callsFor(flowId, '/charge')).toHaveLength(0);
    await expectStoppedAt(flow, 'charge');
    expect(stepsById(flow).work).toMatchObject({ status: 'succeeded', output: { done: true } });
    expect(stepsById(flow).charge).toMatchObject({ attempts: 0 });
  });

  it('a poll gets no task of a flow past its deadline; the flow then fails deadline_exceeded', async () => {
    const type = `deadline-poll-${Date.now()}`;
    const offering = startExecutor();
    const sub = await h.submit({ name: 'overdue-task', deadlineMs: 1000, steps: [{ id: 'work', kind: 'task', task: { type } }] });
    const flowId = sub.body.id;
    await until(async () => (await h.events(flowId)).some((e) => e.type === 'step.started' && e.stepId === 'work'), 'the task offered');
    // Offered before the deadline; nobody polls until after it, and no sweeper runs meanwhile.
    await offering.stop();
    await sleepUntil(Date.parse(String(sub.body.deadlineAt)) + 100);
    expect(await poll(type)).toEqual([]);

    startExecutor();
    const flow = await h.waitFor(flowId, ['failed']);
    expect(flow.error).toMatchObject({ errorType: 'deadline_exceeded' });
    expect(flow.steps[0]).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(await poll(type)).toEqual([]);
  });

  it('a delay that ends after the deadline: the noop steps after it never run', async () => {
    const sub = await h.submit({
      name: 'late-noops',
      deadlineMs: 200,
      steps: [
        { id: 'wait', kind: 'delay', delayMs: 500 },
        { id: 'a', kind: 'noop', output: 1 },
        { id: 'b', kind: 'noop', output: 2 },
        { id: 'c', kind: 'noop', output: 3 },
      ],
    });
    const flowId = sub.body.id;
    // The delay was parked on its timer by the flow's creation; both it and the deadline pass with no executor running.
    await sleepUntil(Date.parse(String(sub.body.createdAt)) + 700);
    startExecutor();
    const flow = await h.waitFor(flowId, ['failed', 'completed']);
    await expectStoppedAt(flow, 'wait');
    for (const id of ['a', 'b', 'c']) expect(stepsById(flow)[id]).toMatchObject({ status: 'cancelled', attempts: 0, output: null });
  });

  it('a flow of noop steps whose deadline passed before its first claim fails at its first step', async () => {
    const sub = await h.submit({
      name: 'tiny-deadline',
      deadlineMs: 1,
      steps: [
        { id: 'a', kind: 'noop' },
        { id: 'b', kind: 'noop' },
        { id: 'c', kind: 'noop' },
      ],
    });
    await sleep(50);
    startExecutor();
    const flow = await h.waitFor(sub.body.id, ['failed', 'completed']);
    await expectStoppedAt(flow, 'a');
    expect(flow.steps.map((s) => [s.id, s.status])).toEqual([
      ['a', 'failed'],
      ['b', 'cancelled'],
      ['c', 'cancelled'],
    ]);
  });

  it('strict: the step started after a success past the deadline does not run, and the succeeded step is compensated', async () => {
    // The deadline passes (by the executor's clock) while the first step's call is in flight.
    up.on('/reserve', () => {
      skewMs = JUMP_MS;
      return { body: { id: 'r-1' } };
    });
    up.on('/release', () => ({ body: { released: true } }));
    up.on('/pay', () => ({ body: { paid: true } }));
    startExecutor(skewedClock);
    const sub = await h.submit({
      name: 'strict-deadline',
      mode: 'strict',
      deadlineMs: MINUTE_MS,
      steps: [
        {
          id: 'reserve',
          kind: 'http',
          request: { method: 'POST', url: `${up.url}/reserve` },
          compensate: { kind: 'http', request: { method: 'POST', url: `${up.url}/release`, body: { ref: '{% $steps.reserve.output.body.id %}' } } },
        },
        { id: 'pay', kind: 'http', request: { method: 'POST', url: `${up.url}/pay` } },
      ],
    });
    const flowId = sub.body.id;
    const flow = await h.waitFor(flowId, ['failed', 'completed']);
    expect(callsFor(flowId, '/pay')).toHaveLength(0);
    await expectStoppedAt(flow, 'pay');
    expect(stepsById(flow).reserve).toMatchObject({ status: 'compensated', compensation: { status: 'succeeded' } });
    expect(callsFor(flowId, '/release').map((r) => r.body)).toEqual([{ ref: 'r-1' }]);
    const types = (await h.events(flowId)).map((e) => e.type);
    expect(types).toContain('flow.compensating');
    expect(types.at(-1)).toBe('flow.failed');
  });

  it('a retry that comes due after the deadline is not attempted', async () => {
    up.on('/flaky', () => ({ status: 503, body: { message: 'down' } }));
    startExecutor(skewedClock);
    const sub = await h.submit({
      name: 'late-retry',
      deadlineMs: MINUTE_MS,
      steps: [{ id: 'call', kind: 'http', request: { url: `${up.url}/flaky` }, retry: { maxAttempts: 3, backoff: 'constant', baseDelayMs: 1000, jitter: 'none' } }],
    });
    const flowId = sub.body.id;
    await until(async () => (await decisions(flowId)).some((e) => e.data.strategy === 'retry'), 'the retry scheduled');
    // The deadline passes while the retry waits.
    skewMs = JUMP_MS;
    const flow = await h.waitFor(flowId, ['failed', 'completed']);
    expect(callsFor(flowId, '/flaky')).toHaveLength(1);
    await expectStoppedAt(flow, 'call');
    expect((await decisions(flowId)).map((e) => e.data.strategy)).toEqual(['retry', 'stop']);
  });

  it('an approval or a task released after the deadline is neither opened nor offered', async () => {
    up.on('/gate', () => {
      skewMs = JUMP_MS;
      return { body: {} };
    });
    const type = `deadline-offer-${Date.now()}`;
    startExecutor(skewedClock);
    const sub = await h.submit({
      name: 'late-approval-and-task',
      deadlineMs: MINUTE_MS,
      steps: [
        { id: 'gate', kind: 'http', request: { url: `${up.url}/gate` } },
        { id: 'approve', kind: 'approval', dependsOn: ['gate'] },
        { id: 'work', kind: 'task', task: { type }, dependsOn: ['gate'] },
      ],
    });
    const flowId = sub.body.id;
    const flow = await h.waitFor(flowId, ['failed', 'completed', 'waiting']);
    expect(flow.status).toBe('failed');
    expect(flow.error).toMatchObject({ errorType: 'deadline_exceeded' });
    expect(await poll(type)).toEqual([]);
    const escalations = await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${flowId}` });
    expect((escalations.json() as { items: unknown[] }).items).toEqual([]);
    const events = await h.events(flowId);
    expect(events.filter((e) => e.type === 'step.started').map((e) => e.stepId)).toEqual(['gate']);
    // Both were released together: whichever started first stopped the flow, cancelling the other.
    const stops = events.filter((e) => e.type === 'recovery.decided' && e.data.strategy === 'stop');
    expect(stops).toHaveLength(1);
    expect(['approve', 'work']).toContain(stops[0]!.stepId);
    expect(flow.steps.map((s) => s.status).sort()).toEqual(['cancelled', 'failed', 'succeeded']);
  });

  it('a flow that failed deadline_exceeded restarts with its deadlineMs counted again from the restart, and completes', async () => {
    const sub = await h.submit({
      name: 'restart-after-deadline',
      deadlineMs: 1500,
      steps: [
        { id: 'a', kind: 'noop', output: 1 },
        { id: 'b', kind: 'noop', output: 2 },
      ],
    });
    const flowId = sub.body.id;
    const firstDeadline = Date.parse(String(sub.body.deadlineAt));
    await sleepUntil(firstDeadline + 100);
    startExecutor();
    await expectStoppedAt(await h.waitFor(flowId, ['failed', 'completed']), 'a');

    const restartedAt = Date.now();
    expect((await post(`/v1/flows/${flowId}/restart`)).statusCode).toBe(202);
    const flow = await h.waitFor(flowId, ['failed', 'completed']);
    expect(flow.status).toBe('completed');
    expect(flow.output).toEqual({ a: 1, b: 2 });
    const restarted = (await h.events(flowId)).find((e) => e.type === 'flow.restarted')!;
    const renewed = Date.parse(String(restarted.data.deadlineAt));
    expect(renewed).toBeGreaterThanOrEqual(restartedAt + 1500 - 1000);
    expect(renewed).toBeGreaterThan(firstDeadline);
  });
});
