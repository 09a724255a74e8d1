// Property-based fuzzing of every route: arbitrary JSON, arbitrary bytes,
// hostile nesting, and plans built from the schema then mutated. Every answer
// is a 2xx, or a 4xx in problem+json; never a 5xx; the process stays ready.
// FUZZ_RUNS scales the number of cases (npm run fuzz runs many more).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
let h: Harness;
let routes: { method: string; path: string }[] = [];

beforeAll(async () => {
  h = await startHarness({ startExecutor: false });
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })));
});
afterAll(async () => h.close());

const pathParam = fc.oneof(fc.uuid(), fc.string({ maxLength: 300, unit: 'binary' }), fc.constantFrom('builtin-timeout', 'http:127.0.0.1:1', '..', '%00', '%2e%2e%2f'));

function fill(path: string, values: string[]): string {
  let i = 0;
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++] ?? 'x'));
}

async function check(res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string): Promise<void> {
  if (res.statusCode >= 500) throw new Error(`${what} -> ${res.statusCode}: ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400) {
    if (!String(res.headers['content-type']).startsWith('application/problem+json')) throw new Error(`${what} -> ${res.statusCode} without problem+json`);
    const problem = JSON.parse(res.body) as { status?: number; title?: string };
    if (problem.status !== res.statusCode || !problem.title) throw new Error(`${what} -> malformed problem ${res.body.slice(0, 200)}`);
  }
}

const kinds = ['http', 'task', 'delay', 'approval', 'noop'] as const;
const stepArb = fc.record({
  id: fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
  kind: fc.constantFrom(...kinds),
});
function completeStep(s: { id: string; kind: string }, i: number) {
  switch (s.kind) {
    case 'http':
      return { id: `${s.id}${i}`, kind: 'http', request: { method: 'POST', url: 'https://api.example.com/x', body: { n: '{% $input.n %}' } } };
    case 'task':
      return { id: `${s.id}${i}`, kind: 'task', task: { type: 'work', input: {} } };
    case 'delay':
      return { id: `${s.id}${i}`, kind: 'delay', delayMs: 1 };
    default:
      return { id: `${s.id}${i}`, kind: s.kind };
  }
}
const validPlan = fc.array(stepArb, { minLength: 1, maxLength: 6 }).map((steps) => ({ name: 'fuzz', mode: 'lenient', input: { n: 1 }, steps: steps.map(completeStep) }));

/** Sets, deletes or corrupts one random path of a plan. */
const mutation = fc.record({ path: fc.array(fc.nat(8), { minLength: 1, maxLength: 5 }), action: fc.constantFrom('set', 'delete', 'extra'), value: fc.jsonValue({ maxDepth: 3 }) });
function mutate(plan: unknown, m: { path: number[]; action: string; value: unknown }): unknown {
  const copy = structuredClone(plan) as Record<string, unknown>;
  let node: unknown = copy;
  for (const [depth, index] of m.path.entries()) {
    if (node === null || typeof node !== 'object') break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[index % keys.length]!;
    const obj = node as Record<string, unknown>;
    if (depth === m.path.length - 1 || obj[key] === null || typeof obj[key] !== 'object') {
      if (m.action === 'delete') delete obj[key];
      else if (m.action === 'extra') obj[`zz${index}`] = m.value;
      else obj[key] = m.value;
      break;
    }
    node = obj[key];
  }
  return copy;
}

describe(`fuzzing (${RUNS} cases)`, () => {
  it('arbitrary JSON bodies and queries on every route', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(pathParam, { maxLength: 3 }), fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.constantFrom('status', 'name', 'label', 'limit', 'cursor', 'after', 'since', 'waitMs', 'flowId', 'kind', 'state', 'enabled', 'builtin'), fc.string({ maxLength: 20, unit: 'binary' }), { maxKeys: 3 }), async (r, params, body, query) => {
        const route = routes[r % routes.length]!;
        const qs = new URLSearchParams(query).toString();
        const url = `${fill(route.path, params)}${qs ? `?${qs}` : ''}`;
        const res = await h.app.inject({ method: route.method as 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        await check(res, `${route.method} ${url}`);
      }),
      { numRuns: Math.floor(RUNS * 0.4) },
    );
  }, 600_000);

  it('arbitrary bytes with arbitrary content types', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.uint8Array({ maxLength: 2000 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data', ''), async (r, bytes, type) => {
        const route = routes[r % routes.length]!;
        const url = fill(route.path, ['0190c0de-0000-7000-8000-000000000000']);
        const res = await h.app.inject({ method: route.method as 'POST', url, payload: Buffer.from(bytes), headers: type ? { 'content-type': type } : {} });
        await check(res, `${route.method} ${url} (${type}, ${bytes.length} bytes)`);
      }),
      { numRuns: Math.floor(RUNS * 0.2) },
    );
  }, 600_000);

  it('plans built from the schema, then mutated', async () => {
    await fc.assert(
      fc.asyncProperty(validPlan, fc.array(mutation, { maxLength: 3 }), async (plan, mutations) => {
        const body = mutations.reduce<unknown>((p, m) => mutate(p, m), plan);
        const res = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        await check(res, `POST /v1/flows ${JSON.stringify(body).slice(0, 200)}`);
      }),
      { numRuns: Math.floor(RUNS * 0.4) },
    );
  }, 600_000);

  it('hostile nesting, huge numbers and odd strings', async () => {
    const cases = [
      '['.repeat(100_000) + ']'.repeat(100_000),
      `{"message":"x","context":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      `{"name":"x","steps":[{"id":"a","kind":"noop","output":${'['.repeat(60_000)}${']'.repeat(60_000)}}]}`,
      '{"name":"x","steps":[{"id":"a","kind":"delay","delayMs":1e400}]}',
      '{"name":"\\ud800","steps":[{"id":"a","kind":"noop"}]}',
      '{"__proto__":{"polluted":true},"name":"x","steps":[{"id":"a","kind":"noop"}]}',
      '{"constructor":{"prototype":{"x":1}},"message":"y"}',
    ];
    for (const route of routes.filter((r) => r.method !== 'GET')) {
      for (const payload of cases) {
        const url = fill(route.path, ['0190c0de-0000-7000-8000-000000000000']);
        await check(await h.app.inject({ method: route.method as 'POST', url, payload, headers: { 'content-type': 'application/json' } }), `${route.method} ${url}`);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);

  it('defaults that would expand a thousandfold once copied into every step are refused with 413, not stored', async () => {
    const fallbacks = Array.from({ length: 10 }, (_, i) => ({ id: `f${i}`, kind: 'noop', output: 'x'.repeat(90_000) }));
    const plan = { name: 'expansive', defaults: { fallbacks }, steps: Array.from({ length: 200 }, (_, i) => ({ id: `s${i}`, kind: 'noop' })) };
    const res = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: plan });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 413, detail: expect.stringContaining('defaults are copied into each of the 200 steps') });
    // The same defaults on a few steps are fine.
    const small = await h.app.inject({ method: 'POST', url: '/v1/flows', payload: { ...plan, steps: plan.steps.slice(0, 2) } });
    expect(small.statusCode).toBe(202);
  });

  it('numbers and cursors past what the columns hold are a 4xx, never a 5xx', async () => {
    const flow = (await h.app.inject({ method: 'POST', url: '/v1/flows', payload: { name: 'x', steps: [{ id: 'a', kind: 'noop' }] } })).json() as { id: string };
    const cursor = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, '0190c0de-0000-7000-8000-000000000000'])).toString('base64url');
    const urls = [
      `/v1/flows/${flow.id}/events?after=99999999999`,
      `/v1/flows/${flow.id}/events?after=2147483648`,
      `/v1/flows?cursor=${cursor('+275760-09-13T00:00:00.000Z')}`,
      `/v1/flows?cursor=${cursor('-271821-04-20T00:00:00.000Z')}`,
      `/v1/escalations?cursor=${cursor('+275760-09-13T00:00:00.000Z')}`,
      `/v1/escalations?cursor=${cursor('0000-01-01T00:00:00.000Z')}`,
      // Days a month does not have: Date.parse rolls them over, Postgres refuses them.
      `/v1/flows?cursor=${cursor('2020-02-30T00:00:00.000Z')}`,
      `/v1/escalations?cursor=${cursor('2021-04-31T23:59:59.999Z')}`,
      `/v1/stats?since=0000-01-01T00:00:00Z`,
      `/v1/stats?since=${encodeURIComponent('9999-12-31T23:59:59-14:00')}`,
    ];
    for (const url of urls) {
      const res = await h.app.inject({ method: 'GET', url });
      await check(res, `GET ${url}`);
      expect(res.statusCode, url).toBeLessThan(500);
    }
  });

  it('leaves the service healthy', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
