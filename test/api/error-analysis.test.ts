// POST /v1/errors/analyze and the pattern registry: built-ins, priorities,
// RE2 rejection, hostile input, sizes, CRUD rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ startExecutor: false });
});
afterAll(async () => h.close());

const analyze = async (body: Record<string, unknown>) => {
  const res = await h.app.inject({ method: 'POST', url: '/v1/errors/analyze', payload: body });
  return { status: res.statusCode, body: res.json() };
};

/** Every built-in with a message it must match and one it must not. */
const BUILTINS: [id: string, errorType: string, matches: string, doesNot: string][] = [
  ['builtin-timeout', 'timeout', 'upstream request timed out after 30s', 'time to go home'],
  ['builtin-connection-refused', 'network', 'connect ECONNREFUSED 10.0.0.1:5432', 'connection established'],
  ['builtin-connection-reset', 'network', 'read ECONNRESET', 'password reset email sent'],
  ['builtin-dns-failure', 'network', 'getaddrinfo ENOTFOUND api.example.com', 'found the address'],
  ['builtin-rate-limited', 'rate_limited', 'Rate limit exceeded, slow down', 'limitless growth'],
  ['builtin-service-unavailable', 'unavailable', 'Service Unavailable: try later', 'service is available'],
  ['builtin-validation', 'validation', 'Validation failed: amount must be positive', 'everything validated'],
  ['builtin-auth', 'auth', 'Unauthorized: bad signature', 'authorized payment'],
  ['builtin-not-found', 'not_found', 'Order 42 not found', 'found it'],
  ['builtin-conflict', 'conflict', 'duplicate key value violates unique constraint', 'unique value stored'],
  ['builtin-insufficient-funds', 'resource_exhausted', 'insufficient liquidity in pool', 'sufficient funds'],
  ['builtin-slippage', 'validation', 'slippage tolerance exceeded', 'slipped on ice'],
  ['builtin-quorum', 'unavailable', 'quorum not reached: 2 of 5 votes', 'a quiet room'],
  ['builtin-out-of-memory', 'resource_exhausted', 'FATAL ERROR: JavaScript heap out of memory', 'plenty of memory left'],
];

describe('built-in patterns', () => {
  it.each(BUILTINS)('%s matches its example and not its counter-example', async (id, errorType, matches, doesNot) => {
    const hit = await analyze({ message: matches });
    expect(hit.status).toBe(200);
    expect(hit.body.pattern?.id).toBe(id);
    expect(hit.body.errorType).toBe(errorType);
    expect(hit.body.reasons.join('\n')).toContain(id);
    const miss = await analyze({ message: doesNot });
    expect(miss.body.pattern?.id).not.toBe(id);
  });

  it('ships the slippage pattern recommending correct and out-of-memory as fatal', async () => {
    expect((await analyze({ message: 'slippage too high' })).body).toMatchObject({ recommendedStrategy: 'correct' });
    expect((await analyze({ message: 'out of memory' })).body).toMatchObject({ severity: 'fatal', retryable: false });
    expect((await analyze({ message: 'not enough liquidity' })).body).toMatchObject({ errorType: 'resource_exhausted', recommendedStrategy: 'degrade' });
  });

  it('maps the HTTP status first and uses the reporter hint only when nothing decides', async () => {
    expect((await analyze({ message: 'nope', httpStatus: 503 })).body).toMatchObject({ errorType: 'unavailable', retryable: true, pattern: null });
    expect((await analyze({ message: 'nope', httpStatus: 418 })).body).toMatchObject({ errorType: 'validation', retryable: false });
    expect((await analyze({ message: 'something odd', errorType: 'quality' })).body).toMatchObject({ errorType: 'quality' });
    expect((await analyze({ message: 'something odd' })).body).toMatchObject({ errorType: 'unknown' });
  });
});

describe('custom patterns', () => {
  it('a higher-priority custom pattern wins over a built-in', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/error-patterns',
      payload: { id: 'pool-timeout', name: 'Pool timeout', regex: 'pool .* timed out', matchOn: 'message', errorType: 'resource_exhausted', recommendedStrategy: 'degrade', priority: 900 },
    });
    expect(created.statusCode).toBe(201);
    await h.registry.refresh();
    const res = await analyze({ message: 'connection pool acquire timed out' });
    expect(res.body).toMatchObject({ errorType: 'resource_exhausted', recommendedStrategy: 'degrade', pattern: { id: 'pool-timeout', priority: 900 } });
    expect(res.body.retryable).toBe(false);
  });

  it('matches on the code when matchOn is code', async () => {
    await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id: 'code-e42', name: 'E42', regex: '^E42$', matchOn: 'code', errorType: 'conflict', priority: 800 } });
    await h.registry.refresh();
    expect((await analyze({ message: 'whatever', code: 'E42' })).body.pattern?.id).toBe('code-e42');
    expect((await analyze({ message: 'E42', code: 'X' })).body.pattern?.id).not.toBe('code-e42');
  });

  it('rejects regexes RE2 cannot compile or longer than 1024 characters with 422', async () => {
    for (const regex of ['(a)\\1', '(?=x)y', '(unclosed', 'a'.repeat(1025)]) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { name: 'bad', regex } });
      expect(res.statusCode, regex.slice(0, 20)).toBe(422);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
  });

  it('generates a slug id, answers 409 for a taken id, and cannot delete built-ins (but can disable them)', async () => {
    const made = await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { name: 'My Shiny Pattern!', regex: 'shiny' } });
    expect(made.statusCode).toBe(201);
    expect(made.json().id).toMatch(/^my-shiny-pattern-[0-9a-f]{6}$/);
    expect(made.json()).toMatchObject({ matchOn: 'message', priority: 500, enabled: true, builtin: false });
    const taken = await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id: made.json().id, name: 'again', regex: 'x' } });
    expect(taken.statusCode).toBe(409);
    expect((await h.app.inject({ method: 'DELETE', url: '/v1/error-patterns/builtin-timeout' })).statusCode).toBe(409);
    const disabled = await h.app.inject({
      method: 'PUT',
      url: '/v1/error-patterns/builtin-slippage',
      payload: { name: 'Slippage', regex: '(?i)slippage', matchOn: 'any', errorType: 'validation', recommendedStrategy: 'correct', priority: 120, enabled: false },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ enabled: false, builtin: true });
    await h.registry.refresh();
    expect((await analyze({ message: 'slippage tolerance exceeded' })).body.pattern).toBeNull();
    expect((await h.app.inject({ method: 'DELETE', url: `/v1/error-patterns/${made.json().id}` })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'GET', url: `/v1/error-patterns/${made.json().id}` })).statusCode).toBe(404);
    const bad = await h.app.inject({ method: 'GET', url: '/v1/error-patterns/Not_A_Slug!' });
    expect(bad.statusCode).toBe(400);
  });

  it('lists patterns with pagination and filters', async () => {
    const page = (await h.app.inject({ method: 'GET', url: '/v1/error-patterns?builtin=true&limit=5' })).json();
    expect(page.items).toHaveLength(5);
    expect(page.items.every((p: { builtin: boolean }) => p.builtin)).toBe(true);
    const next = (await h.app.inject({ method: 'GET', url: `/v1/error-patterns?builtin=true&limit=50&cursor=${page.nextCursor}` })).json();
    expect(next.items.length).toBe(14 - 5);
  });
});

describe('hostile input and sizes', () => {
  it('answers a pathological input against (a+)+$ in under 100 ms', async () => {
    await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id: 'redos', name: 'redos', regex: '(a+)+$', priority: 1000 } });
    await h.registry.refresh();
    const message = `${'a'.repeat(50000)}!`;
    await analyze({ message: 'warm up' });
    const started = performance.now();
    const res = await analyze({ message });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeLessThan(100);
    await h.app.inject({ method: 'DELETE', url: '/v1/error-patterns/redos' });
  });

  it('patterns each valid but together too heavy for one RE2 set still load, and still classify (they could freeze the registry)', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `heavy-${i}`);
    for (const [i, id] of ids.entries()) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id, name: id, regex: `(?i)[a-z]{0,200}x[a-z]{0,200}y[a-z]{0,200}#${i}#`, errorType: 'conflict', priority: 900 } });
      expect(res.statusCode).toBe(201);
    }
    await h.registry.refresh();
    const res = await analyze({ message: 'xay#37#' });
    expect(res.body).toMatchObject({ errorType: 'conflict', pattern: { id: 'heavy-37' } });
    // Later changes still take effect.
    await h.app.inject({ method: 'DELETE', url: '/v1/error-patterns/heavy-37' });
    await h.registry.refresh();
    expect((await analyze({ message: 'xay#37#' })).body.pattern).toBeNull();
    for (const id of ids) await h.app.inject({ method: 'DELETE', url: `/v1/error-patterns/${id}` });
    await h.registry.refresh();
  });

  it('accepts a 64 KiB message and answers 413 beyond', async () => {
    expect((await analyze({ message: 'x'.repeat(64 * 1024) })).status).toBe(200);
    const tooLong = await analyze({ message: 'x'.repeat(64 * 1024 + 1) });
    expect(tooLong.status).toBe(413);
    expect(tooLong.body).toMatchObject({ status: 413, type: 'urn:rebound:problem:payload-too-large' });
    const huge = await h.app.inject({ method: 'POST', url: '/v1/errors/analyze', payload: { message: 'y'.repeat(300 * 1024) } });
    expect(huge.statusCode).toBe(413);
    expect(huge.headers['content-type']).toMatch(/problem\+json/);
  });

  it('rejects unknown fields and wrong types with 400', async () => {
    expect((await analyze({ message: 'x', extra: 1 })).status).toBe(400);
    expect((await analyze({ message: 42 })).status).toBe(400);
    expect((await analyze({ message: 'x', httpStatus: 1000 })).status).toBe(400);
  });
});
