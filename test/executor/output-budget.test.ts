// A flow's outputs are bounded as a whole. Outputs of 64 KiB or more count
// against a 32 MiB budget; one that would not fit fails its attempt
// (validation, OUTPUT_BUDGET_EXCEEDED, not retried) and the ladder goes on,
// so a fallback with a small output still succeeds. A worker's task output
// that does not fit fails the attempt the same way; a person's output that
// does not fit is refused with 422. A restart recounts the budget from the
// outputs it keeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTED_OUTPUT_BYTES, FLOW_OUTPUT_BUDGET_BYTES } from '../../src/store/output-budget.js';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type FlowBody, type Harness, type StepBody } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const post = (url: string, payload: object = {}) => h.app.inject({ method: 'POST', url, payload });
const stepsById = (flow: FlowBody): Record<string, StepBody> => Object.fromEntries(flow.steps.map((s) => [s.id, s]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes of each large body: 35 of them fit the budget, a 36th does not. */
const BIG = 950_000;
const BIG_STEPS = 35;

async function until<T>(find: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

describe('the output budget of a flow', () => {
  it('refuses the outputs that would not fit, whoever produces them, and a restart recounts it', async () => {
    expect(BIG_STEPS * BIG).toBeLessThan(FLOW_OUTPUT_BUDGET_BYTES);
    expect((BIG_STEPS + 1) * BIG).toBeGreaterThan(FLOW_OUTPUT_BUDGET_BYTES);
    up.on('/big', () => ({ body: { data: 'x'.repeat(BIG) } }));
    up.on('/small', () => ({ body: { small: true } }));
    const type = `budget-task-${Date.now()}`;
    const big = Array.from({ length: BIG_STEPS }, (_, i) => ({ id: `big-${i}`, kind: 'http', request: { url: `${up.url}/big` } }));
    const last = `big-${BIG_STEPS - 1}`;
    const sub = await h.submit({
      name: 'output-budget',
      mode: 'lenient',
      steps: [
        ...big,
        { id: 'bare', kind: 'http', request: { url: `${up.url}/big` }, dependsOn: [last] },
        { id: 'over', kind: 'http', request: { url: `${up.url}/big` }, dependsOn: [last], fallbacks: [{ id: 'small', kind: 'http', request: { url: `${up.url}/small` } }] },
        { id: 'work', kind: 'task', task: { type }, dependsOn: [last] },
        { id: 'approve', kind: 'approval', dependsOn: [last] },
      ],
    });
    expect(sub.statusCode).toBe(202);
    const flowId = sub.body.id;

    // A worker's output that does not fit: accepted as an answer, the attempt fails.
    const task = await until(async () => {
      const res = await post('/v1/tasks/poll', { workerId: 'w', types: [type], max: 1, waitMs: 500 });
      return (res.json() as { tasks: { id: string }[] }).tasks[0];
    }, 'the task offered');
    expect((await post(`/v1/tasks/${task.id}/complete`, { output: { data: 'z'.repeat(BIG) } })).statusCode).toBe(200);

    // A person's output that does not fit: 422, the escalation stays open; a small one is taken.
    const escalation = await until(async () => {
      const res = await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${flowId}&status=open` });
      return (res.json() as { items: { id: string }[] }).items[0];
    }, 'the approval opened');
    const refused = await post(`/v1/escalations/${escalation.id}/resolve`, { action: 'complete', output: { data: 'y'.repeat(BIG) } });
    expect(refused.statusCode).toBe(422);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ errors: [{ path: '$.output' }] });
    expect((await post(`/v1/escalations/${escalation.id}/resolve`, { action: 'complete', output: { approved: true } })).statusCode).toBe(200);

    const flow = await h.waitFor(flowId, ['completed', 'completed_with_errors', 'failed'], 60_000);
    expect(flow.status).toBe('completed_with_errors');
    const steps = stepsById(flow);
    for (const s of big) expect(steps[s.id]).toMatchObject({ status: 'succeeded' });
    const refusal = { status: 'failed', error: { errorType: 'validation', code: 'OUTPUT_BUDGET_EXCEEDED', retryable: false } };
    expect(steps.bare).toMatchObject({ ...refusal, attempts: 1 });
    expect(steps.work).toMatchObject({ ...refusal, attempts: 1 });
    expect(steps.over).toMatchObject({ status: 'succeeded', strategy: 'fallback', alternativeId: 'small', output: { body: { small: true } } });
    expect(steps.approve).toMatchObject({ status: 'succeeded', output: { approved: true } });
    const stored = async () => Number((await h.db.query<{ b: string }>(`SELECT large_output_bytes AS b FROM flows WHERE id = $1`, [flowId])).rows[0]!.b);
    expect(await stored()).toBeGreaterThan(BIG_STEPS * BIG);
    expect(await stored()).toBeLessThanOrEqual(FLOW_OUTPUT_BUDGET_BYTES);

    // A restart from big-30 keeps 30 large outputs and counts only those: the five
    // large steps it runs again fit again (without the recount, none would).
    expect((await post(`/v1/flows/${flowId}/restart`, { fromStep: 'big-30' })).statusCode).toBe(202);
    const again = await until(async () => {
      const f = await h.waitFor(flowId, ['running', 'waiting', 'completed', 'completed_with_errors', 'failed']);
      return stepsById(f)[last]!.status === 'succeeded' || stepsById(f)[last]!.status === 'failed' ? f : undefined;
    }, `${last} settled again`, 60_000);
    for (let i = 30; i < BIG_STEPS; i++) expect(stepsById(again)[`big-${i}`]).toMatchObject({ status: 'succeeded' });
  }, 90_000); // 17-20 s alone (about 32 MiB of outputs, written twice): the default 30 s failed once under a loaded machine

  it('a restart recounts the kept outputs in the bytes their reservations counted', async () => {
    // jsonb's text of [1,1,...] is half as long again as JSON's: a recount in jsonb's bytes would grow the budget.
    up.on('/ones', () => ({ body: Array.from({ length: 100_000 }, () => 1) }));
    up.on('/refuse', () => ({ status: 400, body: { message: 'no' } }));
    const sub = await h.submit(
      {
        name: 'recount',
        steps: [
          { id: 'ones', kind: 'http', request: { url: `${up.url}/ones` } },
          { id: 'refused', kind: 'http', request: { url: `${up.url}/refuse` }, retry: { maxAttempts: 1 } },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(sub.body.status).toBe('failed');
    const stored = async () => Number((await h.db.query<{ b: string }>(`SELECT large_output_bytes AS b FROM flows WHERE id = $1`, [sub.body.id])).rows[0]!.b);
    const reserved = await stored();
    expect(reserved).toBeGreaterThan(200_000);
    expect((await post(`/v1/flows/${sub.body.id}/restart`)).statusCode).toBe(202);
    expect(await stored()).toBe(reserved);
  });

  it('does not count outputs under 64 KiB', async () => {
    up.on('/medium', () => ({ body: { data: 'm'.repeat(COUNTED_OUTPUT_BYTES / 2) } }));
    const res = await h.submit({ name: 'small-outputs', steps: [{ id: 'a', kind: 'http', request: { url: `${up.url}/medium` } }] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('completed');
    const { rows } = await h.db.query<{ b: string }>(`SELECT large_output_bytes AS b FROM flows WHERE id = $1`, [res.body.id]);
    expect(Number(rows[0]!.b)).toBe(0);
  });
});
