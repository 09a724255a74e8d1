// Patches and expressions may write any JSON into a step's definition. What
// cannot run fails its attempt as a `validation` error that the ladder then
// handles (no exception, no lease-expiry loop); an escalation answer whose
// patch cannot run is refused with 422; and a bad number stored in a
// definition never fails a statement shared with other steps (task polls,
// settles).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const post = (url: string, payload: object = {}) => h.app.inject({ method: 'POST', url, payload });
const callsFor = (flowId: string, path: string) => up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId));

async function pollTask(type: string, timeoutMs = 10_000): Promise<{ id: string; flowId: string }> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const res = await post('/v1/tasks/poll', { workerId: 'w', types: [type], max: 1, waitMs: 500 });
    expect(res.statusCode).toBe(200);
    const tasks = (res.json() as { tasks: { id: string; flowId: string }[] }).tasks;
    if (tasks.length > 0) return tasks[0]!;
  }
  throw new Error(`no ${type} task within ${timeoutMs} ms`);
}

describe('definitions changed by patches and expressions', () => {
  it.each([
    ['a string timeout', { timeoutMs: "{% 'abc' %}" }, 'timeoutMs'],
    ['a null request', { request: '{% null %}' }, 'request'],
    ['a file: URL', { 'request.url': "{% 'file:///etc/passwd' %}" }, 'request.url'],
    ['a timeout past every limit', { timeoutMs: '{% 1e300 %}' }, 'timeoutMs'],
  ])('a correction writing %s fails the next attempt as validation, and the flow ends', async (_what, patch, field) => {
    up.on('/patched', () => ({ status: 422, body: { message: 'rejected' } }));
    const res = await h.submit(
      { name: 'patched', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/patched` }, retry: { maxAttempts: 1 }, corrections: [{ when: {}, patch }] }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(res.body.steps[0]).toMatchObject({ status: 'failed', attempts: 2, error: { errorType: 'validation', code: 'INVALID_DEFINITION', retryable: false } });
    expect(String((res.body.steps[0]!.error as { message: string }).message)).toContain(field);
    expect(callsFor(res.body.id, '/patched')).toHaveLength(1);
  });

  it('a task whose correction nulls its task fails instead of being offered, and polling for its type goes on', async () => {
    const type = `patched-task-${Date.now()}`;
    const bad = await h.submit({ name: 'bad-task', steps: [{ id: 't', kind: 'task', task: { type }, retry: { maxAttempts: 1 }, corrections: [{ when: {}, patch: { task: '{% null %}' } }] }] });
    const first = await pollTask(type);
    expect(first.flowId).toBe(bad.body.id);
    expect((await post(`/v1/tasks/${first.id}/fail`, { error: { message: 'no', type: 'validation' } })).statusCode).toBe(200);
    const failed = await h.waitFor(bad.body.id, ['failed']);
    expect(failed.steps[0]).toMatchObject({ error: { code: 'INVALID_DEFINITION' } });

    const good = await h.submit({ name: 'good-task', steps: [{ id: 't', kind: 'task', task: { type } }] });
    const next = await pollTask(type);
    expect(next.flowId).toBe(good.body.id);
    expect((await post(`/v1/tasks/${next.id}/complete`, { output: { ok: true } })).statusCode).toBe(200);
    expect((await h.waitFor(good.body.id, ['completed'])).status).toBe('completed');
  });

  it('an escalation answered with a patch the step cannot run is refused with 422 and stays open; a good one still works', async () => {
    let ok = false;
    up.on('/escalated', () => (ok ? { body: { done: true } } : { status: 401, body: { message: 'token expired' } }));
    const res = await h.submit({ name: 'escalated', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/escalated` }, retry: { maxAttempts: 1 }, escalation: { enabled: true } }] });
    await h.waitFor(res.body.id, ['waiting']);
    const esc = ((await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${res.body.id}` })).json() as { items: { id: string }[] }).items[0]!;
    for (const patch of [{ kind: 'http', request: null }, { timeoutMs: 'abc' }, { 'retry.maxAttempts': 1e9 }, { kind: 'delay', delayMs: 1e300 }, { 'request.url': 'file:///etc/passwd' }, { retry: 'x' }]) {
      const refused = await post(`/v1/escalations/${esc.id}/resolve`, { action: 'retry', patch });
      expect(refused.statusCode, JSON.stringify(patch)).toBe(422);
      expect(refused.headers['content-type']).toContain('application/problem+json');
    }
    expect(((await h.app.inject({ method: 'GET', url: `/v1/escalations/${esc.id}` })).json() as { status: string }).status).toBe('open');
    ok = true;
    expect((await post(`/v1/escalations/${esc.id}/resolve`, { action: 'retry', patch: { 'request.headers.x-token': 'fresh' } })).statusCode).toBe(200);
    expect((await h.waitFor(res.body.id, ['completed'])).status).toBe('completed');
  });

  it('a task timeout stored as text neither fails the poll for its type nor other tasks: the default timeout applies', async () => {
    const type = `stored-text-${Date.now()}`;
    const res = await h.submit({ name: 'stored-text', steps: [{ id: 't', kind: 'task', task: { type } }] });
    await h.waitFor(res.body.id, ['running'], 5_000).catch(() => undefined);
    // As an earlier version could have stored it; every statement reading it must survive.
    for (let i = 0; i < 50; i++) {
      const { rowCount } = await h.db.query(`UPDATE steps SET definition = jsonb_set(definition, '{timeoutMs}', '"abc"') WHERE flow_id = $1 AND due_action = 'task_wait'`, [res.body.id]);
      if (rowCount) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const task = await pollTask(type);
    expect(task.flowId).toBe(res.body.id);
    const { rows } = await h.db.query<{ ms: number }>(`SELECT (EXTRACT(EPOCH FROM lease_expires_at - task_claimed_at) * 1000)::int AS ms FROM steps WHERE flow_id = $1`, [res.body.id]);
    expect(rows[0]!.ms).toBeGreaterThan(0);
    expect(rows[0]!.ms).toBeLessThanOrEqual(10_000);
    expect((await post(`/v1/tasks/${task.id}/heartbeat`)).statusCode).toBe(200);
  });

  it('a delay whose stored delayMs is not a number is not parked by the settle that releases it: its attempt fails instead', async () => {
    up.on('/before-delay', () => ({ body: {} }));
    let release = () => {};
    up.on('/held', () => new Promise((r) => (release = () => r({ body: {} }))));
    const res = await h.submit({
      name: 'stored-delay',
      steps: [
        { id: 'a', kind: 'http', request: { url: `${up.url}/held` } },
        { id: 'wait', kind: 'delay', delayMs: 10 },
      ],
    });
    // While `a` runs, the pending delay's stored definition goes bad.
    for (let i = 0; i < 100 && callsFor(res.body.id, '/held').length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await h.db.query(`UPDATE steps SET definition = jsonb_set(definition, '{delayMs}', '"abc"') WHERE flow_id = $1 AND step_id = 'wait'`, [res.body.id]);
    release();
    const done = await h.waitFor(res.body.id, ['failed']);
    expect(done.steps.find((s) => s.id === 'a')).toMatchObject({ status: 'succeeded' });
    expect(done.steps.find((s) => s.id === 'wait')).toMatchObject({ status: 'failed', error: { code: 'INVALID_DEFINITION' } });
  });
});
