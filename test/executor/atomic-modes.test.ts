// Atomic modes and compensation, with the compensation order checked at the
// upstream; cancel with and without compensation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => {
  ({ h, up } = await startHarnessWithUpstream());
  up.on('/ok', (r) => ({ body: { id: `res-${(r.body as { step?: string } | null)?.step ?? 'x'}` } }));
  up.on('/fail', () => ({ status: 500, body: { message: 'broken' } }));
  up.on('/undo', () => ({ body: { undone: true } }));
  up.on('/slow', () => ({ delayMs: 3000, body: { slow: true } }));
});
afterAll(() => closeHarnessWithUpstream(h, up));

const noRetry = { maxAttempts: 1 };
function step(id: string, path: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    kind: 'http',
    request: { method: 'POST', url: `${up.url}${path}`, body: { step: id } },
    retry: noRetry,
    compensate: { kind: 'http', request: { method: 'POST', url: `${up.url}/undo`, body: { undo: id, ref: `{% $steps.${id}.output.body.id %}` } } },
    ...extra,
  };
}
const undone = (flowId: string) =>
  up
    .to('/undo')
    .filter((r) => String(r.headers['idempotency-key']).startsWith(flowId))
    .map((r) => r.body as { undo: string; ref: string });

describe('atomic modes', () => {
  it('strict: a failure fails the flow and compensates succeeded steps in reverse completion order, once each', async () => {
    const res = await h.submit({ name: 'strict', mode: 'strict', steps: [step('a', '/ok'), step('b', '/ok'), step('c', '/ok'), step('d', '/fail'), step('e', '/ok')] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('failed');
    expect(undone(res.body.id)).toEqual([
      { undo: 'c', ref: 'res-c' },
      { undo: 'b', ref: 'res-b' },
      { undo: 'a', ref: 'res-a' },
    ]);
    const byId = Object.fromEntries(res.body.steps.map((s) => [s.id, s]));
    expect(byId.a).toMatchObject({ status: 'compensated', compensation: { status: 'succeeded' } });
    expect(byId.d).toMatchObject({ status: 'failed' });
    expect(byId.e).toMatchObject({ status: 'cancelled' });
    const keys = up.to('/undo').filter((r) => String(r.headers['idempotency-key']).startsWith(res.body.id)).map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([`${res.body.id}:c:compensate`, `${res.body.id}:b:compensate`, `${res.body.id}:a:compensate`]);
    const types = (await h.events(res.body.id)).map((e) => e.type);
    expect(types).toContain('flow.compensating');
    expect(types.filter((t) => t === 'compensation.succeeded')).toHaveLength(3);
    expect(types.at(-1)).toBe('flow.failed');
  });

  it('strict: running siblings are cancelled when a parallel step fails', async () => {
    const res = await h.submit(
      { name: 'strict-parallel', steps: [step('slow', '/slow', { dependsOn: [], compensate: undefined }), step('bad', '/fail', { dependsOn: [] })] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(res.body.steps.find((s) => s.id === 'slow')).toMatchObject({ status: 'cancelled' });
  });

  it('retries a failing compensation with the step retry policy, then escalates it', async () => {
    let undoCalls = 0;
    up.on('/undo-flaky', () => (++undoCalls < 2 ? { status: 503 } : { body: { ok: true } }));
    up.on('/undo-broken', () => ({ status: 503 }));
    const res = await h.submit(
      {
        name: 'comp-retry',
        steps: [
          { id: 'a', kind: 'http', request: { url: `${up.url}/ok` }, retry: { maxAttempts: 2, baseDelayMs: 10 }, compensate: { kind: 'http', request: { url: `${up.url}/undo-broken` } } },
          { id: 'b', kind: 'http', request: { url: `${up.url}/ok` }, retry: { maxAttempts: 3, baseDelayMs: 10 }, compensate: { kind: 'http', request: { url: `${up.url}/undo-flaky` } } },
          { id: 'c', kind: 'http', request: { url: `${up.url}/fail` }, retry: noRetry },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    const byId = Object.fromEntries(res.body.steps.map((s) => [s.id, s]));
    expect(byId.b).toMatchObject({ status: 'compensated', compensation: { status: 'succeeded' } });
    expect(byId.a).toMatchObject({ status: 'succeeded', compensation: { status: 'failed' } });
    expect(byId.a!.history.filter((x) => x.phase === 'compensate')).toHaveLength(2);
    const escalations = (await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${res.body.id}` })).json() as { items: { id: string; kind: string; stepId: string }[] };
    expect(escalations.items).toEqual([expect.objectContaining({ kind: 'compensation', stepId: 'a' })]);
    // A compensation is retried as the plan defines it: a patch, which it would ignore, is refused.
    const patched = await h.app.inject({ method: 'POST', url: `/v1/escalations/${escalations.items[0]!.id}/resolve`, payload: { action: 'retry', patch: { 'request.url': `${up.url}/ok` } } });
    expect(patched.statusCode).toBe(422);
    expect(patched.json()).toMatchObject({ errors: [{ path: '$.patch' }] });

    // The open compensation escalation is about this run's effects: no restart until it is answered
    // (answered after a restart, it would act on the next run's step a).
    const early = await h.app.inject({ method: 'POST', url: `/v1/flows/${res.body.id}/restart`, payload: { fromStep: 'a' } });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ detail: expect.stringContaining(escalations.items[0]!.id) });
    const answered = await h.app.inject({ method: 'POST', url: `/v1/escalations/${escalations.items[0]!.id}/resolve`, payload: { action: 'complete', note: 'undone by hand' } });
    expect(answered.statusCode).toBe(200);
    const restarted = await h.app.inject({ method: 'POST', url: `/v1/flows/${res.body.id}/restart`, payload: { fromStep: 'a' } });
    expect(restarted.statusCode).toBe(202);
  });

  it('conditional: a non-critical failure is tolerated, its dependents skipped, the rest continues', async () => {
    const res = await h.submit(
      {
        name: 'conditional',
        mode: 'conditional',
        steps: [
          step('a', '/ok'),
          step('opt', '/fail', { critical: false, dependsOn: ['a'] }),
          step('after-opt', '/ok', { dependsOn: ['opt'] }),
          step('main', '/ok', { dependsOn: ['a'] }),
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed_with_errors');
    const status = Object.fromEntries(res.body.steps.map((s) => [s.id, s.status]));
    expect(status).toEqual({ a: 'succeeded', opt: 'failed', 'after-opt': 'skipped', main: 'succeeded' });
    expect(undone(res.body.id)).toEqual([]);
  });

  it('conditional: a critical failure behaves as strict', async () => {
    const res = await h.submit({ name: 'conditional-critical', mode: 'conditional', steps: [step('a', '/ok'), step('b', '/fail')] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('failed');
    expect(undone(res.body.id)).toEqual([{ undo: 'a', ref: 'res-a' }]);
  });

  it('lenient: every failure is tolerated, nothing compensated, outputs kept', async () => {
    const res = await h.submit(
      { name: 'lenient', mode: 'lenient', steps: [step('a', '/ok'), step('b', '/fail'), step('c', '/ok', { dependsOn: ['a'] })] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed_with_errors');
    expect(Object.keys(res.body.output)).toEqual(['a', 'c']);
    expect(undone(res.body.id)).toEqual([]);
  });
});

describe('cancel', () => {
  it('cancels a running flow and compensates by default in strict mode; a second cancel is 409', async () => {
    const sub = await h.submit({ name: 'cancel-comp', steps: [step('a', '/ok'), step('wait', '/slow', { compensate: undefined })] });
    await h.waitFor(sub.body.id, ['running']);
    for (let i = 0; i < 100 && (await h.flow(sub.body.id)).steps[0]!.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 20));
    const res = await h.app.inject({ method: 'POST', url: `/v1/flows/${sub.body.id}/cancel`, payload: {} });
    expect(res.statusCode).toBe(200);
    const done = await h.waitFor(sub.body.id, ['cancelled']);
    expect(done.steps.map((s) => s.status)).toEqual(['compensated', 'cancelled']);
    expect(undone(sub.body.id)).toEqual([{ undo: 'a', ref: 'res-a' }]);
    const again = await h.app.inject({ method: 'POST', url: `/v1/flows/${sub.body.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
  });

  it('cancels without compensation when asked', async () => {
    const sub = await h.submit({ name: 'cancel-plain', steps: [step('a', '/ok'), step('wait', '/slow')] });
    for (let i = 0; i < 100 && (await h.flow(sub.body.id)).steps[0]!.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 20));
    const res = await h.app.inject({ method: 'POST', url: `/v1/flows/${sub.body.id}/cancel`, payload: { compensate: false } });
    expect(res.statusCode).toBe(200);
    const done = await h.waitFor(sub.body.id, ['cancelled']);
    expect(done.steps.map((s) => s.status)).toEqual(['succeeded', 'cancelled']);
    expect(undone(sub.body.id)).toEqual([]);
    expect((await h.events(sub.body.id)).at(-1)!.type).toBe('flow.cancelled');
  });
});
