// Restart from a failed step without re-delivering earlier steps; idempotent
// submission; waitMs; list filters and pagination; the events endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const keysTo = (flowId: string, path: string) => up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId)).map((r) => String(r.headers['idempotency-key']));

describe('restart', () => {
  it('an attempt still in flight from before a restart cannot settle the restarted run', async () => {
    // The same process claims the restarted step while its earlier attempt still waits for
    // its answer: the earlier answer arrives last and must be thrown away.
    up.on('/slow-old', () => ({ body: { from: 'old' }, delayMs: 1500 }));
    up.on('/slow-new', () => ({ body: { from: 'new' } }));
    const sub = await h.submit({
      name: 'restart-in-flight',
      input: { v: 'old' },
      steps: [{ id: 'h', kind: 'http', timeoutMs: 5000, request: { url: `{% "${up.url}/slow-" & $input.v %}` } }],
    });
    const flowId = sub.body.id;
    const started = Date.now();
    while (up.to('/slow-old').filter((r) => String(r.headers['idempotency-key']).startsWith(flowId)).length === 0) {
      if (Date.now() - started > 5000) throw new Error('the first attempt never called');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await h.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/cancel`, payload: {} })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'POST', url: `/v1/flows/${flowId}/restart`, payload: { input: { v: 'new' } } })).statusCode).toBe(202);
    const done = await h.waitFor(flowId, ['completed', 'failed', 'cancelled']);
    expect(done.status).toBe('completed');
    expect(done.output).toEqual({ h: expect.objectContaining({ body: { from: 'new' } }) });
    expect(keysTo(flowId, '/slow-new')).toHaveLength(1);
    // Let the earlier answer arrive, then check it changed nothing.
    await new Promise((r) => setTimeout(r, 1600 - (Date.now() - started)));
    expect((await h.waitFor(flowId, ['completed'])).output).toEqual(done.output);
  });

  it('restarts from the failed step; earlier outputs are kept and never delivered again', async () => {
    let broken = true;
    up.on('/one', () => ({ body: { v: 1 } }));
    up.on('/two', () => (broken ? { status: 500, body: { message: 'still broken' } } : { body: { v: 2 } }));
    up.on('/three', (r) => ({ body: { got: r.body } }));
    const plan = {
      name: 'restartable',
      mode: 'lenient',
      input: { k: 'first' },
      steps: [
        { id: 'one', kind: 'http', request: { method: 'POST', url: `${up.url}/one` } },
        { id: 'two', kind: 'http', request: { method: 'POST', url: `${up.url}/two` }, retry: { maxAttempts: 1 } },
        { id: 'three', kind: 'http', request: { method: 'POST', url: `${up.url}/three`, body: { one: '{% $steps.one.output.body.v %}', k: '{% $input.k %}' } } },
      ],
    };
    const first = await h.submit(plan, { waitMs: 10_000 });
    expect(first.body.status).toBe('completed_with_errors');
    expect(first.body.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);

    broken = false;
    const res = await h.app.inject({ method: 'POST', url: `/v1/flows/${first.body.id}/restart`, payload: { input: { k: 'second' } } });
    expect(res.statusCode).toBe(202);
    const done = await h.waitFor(first.body.id, ['completed']);
    expect(done.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(keysTo(first.body.id, '/one')).toHaveLength(1);
    expect(keysTo(first.body.id, '/two')).toHaveLength(2);
    expect(done.output.three).toMatchObject({ body: { got: { one: 1, k: 'second' } } });
    const events = await h.events(first.body.id);
    expect(events.filter((e) => e.type === 'flow.restarted')).toHaveLength(1);
    // The run after the restart is logged like the first: each step it runs starts again.
    const afterRestart = events.slice(events.findIndex((e) => e.type === 'flow.restarted'));
    expect(afterRestart.filter((e) => e.type === 'step.started').map((e) => e.stepId)).toEqual(['two', 'three']);
    // 'two' succeeded at the first attempt of this run; attempts counts both runs.
    expect(done.steps[1]).toMatchObject({ status: 'succeeded', attempts: 2, strategy: null });
  });

  it('logs step.started again for every step a restart runs again, delays included', async () => {
    let broken = true;
    up.on('/again-one', () => ({ body: { v: 1 } }));
    up.on('/again-two', () => (broken ? { status: 500, body: { message: 'broken' } } : { body: { v: 2 } }));
    const first = await h.submit(
      {
        name: 'restart-started',
        mode: 'lenient',
        steps: [
          { id: 'one', kind: 'http', request: { method: 'POST', url: `${up.url}/again-one` } },
          { id: 'wait', kind: 'delay', delayMs: 20, dependsOn: ['one'] },
          { id: 'two', kind: 'http', request: { method: 'POST', url: `${up.url}/again-two` }, retry: { maxAttempts: 1 }, dependsOn: ['wait'] },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(first.body.status).toBe('completed_with_errors');
    broken = false;
    expect((await h.app.inject({ method: 'POST', url: `/v1/flows/${first.body.id}/restart`, payload: { fromStep: 'one' } })).statusCode).toBe(202);
    const done = await h.waitFor(first.body.id, ['completed']);
    expect(done.steps.map((s) => [s.id, s.attempts])).toEqual([['one', 2], ['wait', 2], ['two', 2]]);
    const events = await h.events(first.body.id);
    const restartedAt = events.findIndex((e) => e.type === 'flow.restarted');
    const startedIn = (from: number, to: number) => events.slice(from, to).filter((e) => e.type === 'step.started').map((e) => e.stepId);
    expect(startedIn(0, restartedAt)).toEqual(['one', 'wait', 'two']);
    expect(startedIn(restartedAt, events.length)).toEqual(['one', 'wait', 'two']);
  });

  it('restarts from a named step and refuses flows that are not failed, cancelled or completed_with_errors', async () => {
    up.on('/n', () => ({ body: {} }));
    const ok = await h.submit({ name: 'done', steps: [{ id: 'a', kind: 'noop' }] }, { waitMs: 10_000 });
    expect(ok.body.status).toBe('completed');
    const refused = await h.app.inject({ method: 'POST', url: `/v1/flows/${ok.body.id}/restart`, payload: {} });
    expect(refused.statusCode).toBe(409);

    up.on('/x-fail', () => ({ status: 500 }));
    const failed = await h.submit(
      { name: 'named', steps: [{ id: 'a', kind: 'http', request: { url: `${up.url}/n` } }, { id: 'b', kind: 'http', request: { url: `${up.url}/x-fail` }, retry: { maxAttempts: 1 } }] },
      { waitMs: 10_000 },
    );
    expect(failed.body.status).toBe('failed');
    const unknown = await h.app.inject({ method: 'POST', url: `/v1/flows/${failed.body.id}/restart`, payload: { fromStep: 'zzz' } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({ errors: [{ path: '$.fromStep', message: 'the flow has no step "zzz"' }] });
    const missing = await h.app.inject({ method: 'POST', url: '/v1/flows/0190c0de-0000-7000-8000-000000000000/restart', payload: {} });
    expect(missing.statusCode).toBe(404);
  });
});

describe('submission', () => {
  it('answers 202 with Location, and replays an Idempotency-Key: same body 200, different body 409', async () => {
    const plan = { name: 'idem', steps: [{ id: 'a', kind: 'delay', delayMs: 200 }] };
    const key = `k-${Date.now()}`;
    const first = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: plan, headers: { 'idempotency-key': key } });
    expect(first.statusCode).toBe(202);
    expect(first.headers.location).toBe(`/v1/flows/${first.json().id}`);
    const again = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: plan, headers: { 'idempotency-key': key } });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: { ...plan, name: 'other' }, headers: { 'idempotency-key': key } });
    expect(other.statusCode).toBe(409);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => h.app.inject({ method: 'POST', url: '/v1/flows', payload: plan, headers: { 'idempotency-key': `${key}-c` } })),
    );
    expect(new Set(concurrent.map((r) => r.json().id)).size).toBe(1);
  });

  it('waitMs answers 200 once terminal, 202 when the wait ends first', async () => {
    const quick = await h.submit({ name: 'quick', steps: [{ id: 'a', kind: 'noop' }] }, { waitMs: 5000 });
    expect(quick.statusCode).toBe(200);
    expect(quick.body.status).toBe('completed');
    const slow = await h.submit({ name: 'slow', steps: [{ id: 'a', kind: 'delay', delayMs: 3000 }] }, { waitMs: 300 });
    expect(slow.statusCode).toBe(202);
    expect(slow.body.status).toBe('running');
  });

  it('rejects unknown fields with 400 and bad JSON paths', async () => {
    const res = await h.submit({ name: 'x', steps: [{ id: 'a', kind: 'noop', bogus: 1 }] });
    expect(res.statusCode).toBe(400);
    const bad = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: JSON.stringify({ name: 'x', steps: [] }).replace('}', ',}'), headers: { 'content-type': 'application/json' } });
    expect(bad.statusCode).toBe(400);
  });
});

describe('reading flows', () => {
  it('lists with status, name and label filters and cursor pagination', async () => {
    const tag = `t${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.submit({ name: `list-${tag}`, labels: { run: tag, parity: String(i % 2) }, steps: [{ id: 'a', kind: 'noop' }] }, { waitMs: 5000 })).body.id);
    const page1 = (await h.app.inject({ method: 'GET', url: `/v1/flows?name=list-${tag}&limit=2` })).json();
    expect(page1.items.map((f: { id: string }) => f.id)).toEqual([ids[4], ids[3]]);
    const page2 = (await h.app.inject({ method: 'GET', url: `/v1/flows?name=list-${tag}&limit=2&cursor=${page1.nextCursor}` })).json();
    expect(page2.items.map((f: { id: string }) => f.id)).toEqual([ids[2], ids[1]]);
    const labelled = (await h.app.inject({ method: 'GET', url: `/v1/flows?label=run:${tag}&label=parity:0&status=completed` })).json();
    expect(labelled.items.map((f: { id: string }) => f.id).sort()).toEqual([ids[0], ids[2], ids[4]].sort());
    const badCursor = await h.app.inject({ method: 'GET', url: '/v1/flows?cursor=nonsense' });
    expect(badCursor.statusCode).toBe(400);
    const badLabel = await h.app.inject({ method: 'GET', url: '/v1/flows?label=nocolon' });
    expect(badLabel.statusCode).toBe(400);
  });

  it('serves events after a seq, gapless and ordered', async () => {
    const res = await h.submit({ name: 'ev', steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop' }] }, { waitMs: 5000 });
    const all = await h.events(res.body.id);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const after = (await h.app.inject({ method: 'GET', url: `/v1/flows/${res.body.id}/events?after=2` })).json();
    expect(after.items[0].seq).toBe(3);
    expect((await h.app.inject({ method: 'GET', url: '/v1/flows/0190c0de-0000-7000-8000-000000000000/events' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/v1/flows/not-a-uuid' })).statusCode).toBe(400);
  });
});
