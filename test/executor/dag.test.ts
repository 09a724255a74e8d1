// Sequential and parallel DAGs against a real upstream; data passed between
// steps with expressions; joins; noop steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const post = (path: string, body?: unknown) => ({ kind: 'http', request: { method: 'POST', url: `${up.url}${path}`, ...(body !== undefined ? { body } : {}) } });

describe('DAG execution', () => {
  it('runs steps sequentially by default: each starts after the previous one finished', async () => {
    up.on('/seq', () => ({ delayMs: 100, body: { ok: true } }));
    const res = await h.submit(
      { name: 'seq', steps: [{ id: 's1', ...post('/seq', { n: 1 }) }, { id: 's2', ...post('/seq', { n: 2 }) }, { id: 's3', ...post('/seq', { n: 3 }) }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    const calls = up.to('/seq').filter((r) => (r.headers['idempotency-key'] as string).startsWith(res.body.id));
    expect(calls.map((c) => (c.body as { n: number }).n)).toEqual([1, 2, 3]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(95);
  });

  it('runs independent steps in parallel (they overlap in time) and joins them', async () => {
    const inFlight = { now: 0, max: 0 };
    up.on('/par', async () => {
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      await new Promise((r) => setTimeout(r, 300));
      inFlight.now--;
      return { body: { ok: true } };
    });
    up.on('/join', (r) => ({ body: { got: r.body } }));
    const started = Date.now();
    const res = await h.submit(
      {
        name: 'fan-out',
        input: { tag: 'x' },
        steps: [
          { id: 'a', dependsOn: [], ...post('/par') },
          { id: 'b', dependsOn: [], ...post('/par') },
          { id: 'c', dependsOn: [], ...post('/par') },
          { id: 'join', dependsOn: ['a', 'b', 'c'], ...post('/join', { statuses: '{% [$steps.a.output.status, $steps.b.output.status, $steps.c.output.status] %}', tag: '{% $input.tag %}' }) },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(inFlight.max).toBe(3);
    expect(Date.now() - started).toBeLessThan(900 + 2000);
    expect(res.body.output.join).toMatchObject({ body: { got: { statuses: [200, 200, 200], tag: 'x' } } });
  });

  it('passes data along a diamond and exposes $flow and $step', async () => {
    up.on('/echo', (r) => ({ body: r.body }));
    const res = await h.submit(
      {
        name: 'diamond',
        labels: { team: 'core' },
        input: { amount: 10 },
        steps: [
          { id: 'start', kind: 'noop', output: { base: '{% $input.amount * 2 %}' } },
          { id: 'left', dependsOn: ['start'], ...post('/echo', { v: '{% $steps.start.output.base + 1 %}' }) },
          { id: 'right', dependsOn: ['start'], ...post('/echo', { v: '{% $steps.start.output.base + 2 %}', step: '{% $step.id %}', attempt: '{% $step.attempt %}' }) },
          { id: 'end', dependsOn: ['left', 'right'], kind: 'noop', output: { sum: '{% $steps.left.output.body.v + $steps.right.output.body.v %}', flow: '{% $flow.name & "/" & $flow.labels.team %}' } },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.output.start).toEqual({ base: 20 });
    expect(res.body.output.right).toMatchObject({ body: { v: 22, step: 'right', attempt: 1 } });
    expect(res.body.output.end).toEqual({ sum: 43, flow: 'diamond/core' });
  });

  it('sends Idempotency-Key <flowId>:<stepId> and X-Rebound-Attempt, never follows redirects', async () => {
    up.on('/redirect', () => ({ status: 302, headers: { location: `${up.url}/elsewhere` } }));
    up.on('/elsewhere', () => ({ body: { followed: true } }));
    const res = await h.submit({ name: 'redirect', steps: [{ id: 'r', ...post('/redirect'), retry: { maxAttempts: 1 } }] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('failed');
    const call = up.to('/redirect').find((c) => c.headers['idempotency-key'] === `${res.body.id}:r`);
    expect(call?.headers['x-rebound-attempt']).toBe('1');
    expect(up.to('/elsewhere')).toHaveLength(0);
    expect(res.body.steps[0]!.error).toMatchObject({ httpStatus: 302 });
  });

  it('fails an attempt whose expression cannot be evaluated as a non-retryable validation error', async () => {
    const res = await h.submit(
      { name: 'bad-expr', steps: [{ id: 'x', kind: 'noop', output: { v: '{% $error("boom") %}' }, retry: { maxAttempts: 3, baseDelayMs: 1 } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(res.body.steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: { errorType: 'validation', retryable: false } });
    expect(String(res.body.steps[0]!.error!.message)).toContain('boom');
  });

  it('rejects a plan with a cycle, an unknown dependency or a bad expression with 422 and the JSON path', async () => {
    const cycle = await h.submit({ name: 'c', steps: [{ id: 'a', kind: 'noop', dependsOn: ['b'] }, { id: 'b', kind: 'noop', dependsOn: ['a'] }] });
    expect(cycle.statusCode).toBe(422);
    expect(JSON.stringify(cycle.body)).toMatch(/a -> b -> a|b -> a -> b/);
    const unknown = await h.submit({ name: 'u', steps: [{ id: 'a', kind: 'noop', dependsOn: ['ghost'] }] });
    expect(unknown.statusCode).toBe(422);
    expect((unknown.body as unknown as { errors: { path: string }[] }).errors[0]!.path).toBe('$.steps[0].dependsOn[0]');
    const expr = await h.submit({ name: 'e', steps: [{ id: 'a', kind: 'noop', output: { x: '{% $input.( %}' } }] });
    expect(expr.statusCode).toBe(422);
    expect((expr.body as unknown as { errors: { path: string }[] }).errors[0]!.path).toBe('$.steps[0].output.x');
    const tooMany = await h.submit({ name: 't', steps: Array.from({ length: 201 }, (_, i) => ({ id: `s${i}`, kind: 'noop' })) });
    expect(tooMany.statusCode).toBe(400);
  });
});
