// API keys and roles on every route group: 401 without or with an unknown
// key, 403 for a role too low, open ops routes, the key name recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
const KEYS = { viewer: 'v-secret', operator: 'o-secret', admin: 'a-secret' };
beforeAll(async () => {
  h = await startHarness({ env: { API_KEYS: `ro:${KEYS.viewer}:viewer,ops:${KEYS.operator}:operator,root:${KEYS.admin}:admin`, METRICS_TOKEN: 'scrape' } });
});
afterAll(async () => h.close());

type Who = keyof typeof KEYS | 'none' | 'unknown';
async function call(who: Who, method: string, url: string, payload?: unknown) {
  const headers: Record<string, string> = {};
  if (who === 'unknown') headers.authorization = 'Bearer nope';
  else if (who !== 'none') headers.authorization = `Bearer ${KEYS[who]}`;
  return h.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

const plan = { name: 'auth', steps: [{ id: 'a', kind: 'noop' }] };
const FAKE = '0190c0de-0000-7000-8000-000000000000';

/** [method, url, body, least role] for every route group. */
const ROUTES: [string, string, unknown, 'viewer' | 'operator' | 'admin'][] = [
  ['GET', '/v1/flows', undefined, 'viewer'],
  ['GET', `/v1/flows/${FAKE}`, undefined, 'viewer'],
  ['GET', `/v1/flows/${FAKE}/events`, undefined, 'viewer'],
  ['POST', '/v1/flows', plan, 'operator'],
  ['POST', `/v1/flows/${FAKE}/cancel`, {}, 'operator'],
  ['POST', `/v1/flows/${FAKE}/restart`, {}, 'operator'],
  ['POST', '/v1/tasks/poll', { workerId: 'w', types: ['t'] }, 'operator'],
  ['POST', `/v1/tasks/${FAKE}/complete`, { output: 1 }, 'operator'],
  ['GET', '/v1/escalations', undefined, 'viewer'],
  ['POST', `/v1/escalations/${FAKE}/resolve`, { action: 'skip' }, 'operator'],
  ['POST', '/v1/errors/analyze', { message: 'x' }, 'operator'],
  ['GET', '/v1/error-patterns', undefined, 'viewer'],
  ['POST', '/v1/error-patterns', { name: 'n', regex: 'x' }, 'admin'],
  ['DELETE', '/v1/error-patterns/nope', undefined, 'admin'],
  ['GET', '/v1/circuits', undefined, 'viewer'],
  ['POST', '/v1/circuits/k/open', {}, 'operator'],
  ['PUT', '/v1/circuits/k', {}, 'admin'],
  ['GET', '/v1/stats', undefined, 'viewer'],
];
const RANK = { viewer: 0, operator: 1, admin: 2 };

describe('API keys and roles', () => {
  it.each(ROUTES)('%s %s needs %s', async (method, url, body, need) => {
    expect((await call('none', method, url, body)).statusCode).toBe(401);
    expect((await call('unknown', method, url, body)).statusCode).toBe(401);
    for (const who of ['viewer', 'operator', 'admin'] as const) {
      const res = await call(who, method, url, body);
      if (RANK[who] < RANK[need]) {
        expect(res.statusCode, `${who} on ${method} ${url}`).toBe(403);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      } else {
        expect([401, 403], `${who} on ${method} ${url}`).not.toContain(res.statusCode);
      }
    }
  });

  it('keeps /healthz, /readyz, /docs and /openapi.json open; /metrics needs METRICS_TOKEN', async () => {
    for (const url of ['/healthz', '/readyz', '/docs/', '/openapi.json']) expect((await call('none', 'GET', url)).statusCode, url).toBe(200);
    expect((await call('admin', 'GET', '/metrics')).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape' } })).statusCode).toBe(200);
  });

  it('answers 401 with WWW-Authenticate and records the key name on submissions, resolutions and pattern edits', async () => {
    const unauth = await call('none', 'GET', '/v1/flows');
    expect(unauth.headers['www-authenticate']).toBe('Bearer');
    const flow = await call('operator', 'POST', '/v1/flows', { name: 'who', steps: [{ id: 'ok', kind: 'approval' }] });
    expect(flow.json().createdBy).toBe('ops');
    for (let i = 0; i < 200 && (await call('viewer', 'GET', `/v1/flows/${flow.json().id}`)).json().status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 25));
    const esc = (await call('viewer', 'GET', `/v1/escalations?flowId=${flow.json().id}`)).json().items[0];
    const resolved = await call('operator', 'POST', `/v1/escalations/${esc.id}/resolve`, { action: 'complete', output: {} });
    expect(resolved.json().resolution.resolvedBy).toBe('ops');
    const pattern = await call('admin', 'POST', '/v1/error-patterns', { name: 'by root', regex: 'root' });
    expect(pattern.json().updatedBy).toBe('root');
  });

  it('adds security headers to /docs', async () => {
    const res = await call('none', 'GET', '/docs/');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('rate limiting', () => {
  it('answers 429 problem+json with Retry-After past RATE_LIMIT_PER_MINUTE per key', async () => {
    const limited = await startHarness({ env: { RATE_LIMIT_PER_MINUTE: '3', API_KEYS: 'a:aa:viewer,b:bb:viewer' }, startExecutor: false });
    try {
      const get = (secret: string) => limited.app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Bearer ${secret}` } });
      for (let i = 0; i < 3; i++) expect((await get('aa')).statusCode).toBe(200);
      const over = await get('aa');
      expect(over.statusCode).toBe(429);
      expect(over.headers['content-type']).toMatch(/problem\+json/);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect((await get('bb')).statusCode).toBe(200);
      expect((await limited.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
