import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createDatabase } from '../../src/store/database.js';
import { createErrorFrequency } from '../../src/store/error-frequency.js';
import { createPatternRegistry } from '../../src/store/pattern-registry.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:rebound:problem:/), title: expect.any(String), detail: expect.any(String) });
  return body;
}

describe('ops routes', () => {
  it('GET /healthz answers ok', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('GET /readyz is 200 when the database answers and migrations are applied', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });

  it('GET /readyz is 503 while migrations are missing', async () => {
    await t.db.query('UPDATE _prisma_migrations SET rolled_back_at = now()');
    try {
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable' });
    } finally {
      await t.db.query('UPDATE _prisma_migrations SET rolled_back_at = NULL');
    }
  });

  it('GET /readyz is 503 when the database does not answer', async () => {
    const logger = createLogger('silent');
    const db = createDatabase({ url: 'postgresql://nobody@127.0.0.1:1/none', logger });
    const app = await buildApp({
      config: loadConfig({}),
      logger,
      db,
      metrics: createMetrics(),
      isReady: async () => (await db.pool.query('SELECT 1')).rowCount === 1,
      registry: createPatternRegistry({ db, logger }),
      frequency: createErrorFrequency({ db, logger }),
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    await app.close();
    await db.close();
  });

  it('GET /metrics serves Prometheus text with default process metrics and request timings', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('rebound_process_cpu_user_seconds_total');
    expect(res.body).toMatch(/rebound_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
  });

  it('GET /metrics requires METRICS_TOKEN when it is set', async () => {
    const secured = await startTestApp({ METRICS_TOKEN: 'scrape-me' });
    try {
      expectProblem(await secured.app.inject({ method: 'GET', url: '/metrics' }), 401);
      expectProblem(await secured.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } }), 401);
      const ok = await secured.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await secured.close();
    }
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'Rebound' } });
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('propagates a well-formed X-Request-Id and replaces a malformed one', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const bad = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\u0000' } });
    expect(bad.headers['x-request-id']).not.toBe('a b\u0000');
  });
});

describe('problem+json for every error', () => {
  it('unknown routes are 404', async () => {
    const body = expectProblem(await t.app.inject({ method: 'GET', url: '/v1/nothing-here' }), 404);
    expect(body.detail).toContain('/v1/nothing-here');
  });

  it('a known path with a method it does not answer is 405 with Allow', async () => {
    const flows = await t.app.inject({ method: 'DELETE', url: '/v1/flows' });
    expectProblem(flows, 405);
    expect(String(flows.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    const one = await t.app.inject({ method: 'PUT', url: '/v1/flows/0190c0de-0000-7000-8000-000000000000?x=1' });
    expectProblem(one, 405);
    expect(String(one.headers.allow)).toContain('GET');
    expectProblem(await t.app.inject({ method: 'PATCH', url: '/v1/circuits/http:[::1]:80/close' }), 405);
    expectProblem(await t.app.inject({ method: 'DELETE', url: '/v1/flows/x/y/z' }), 404);
  });

  it('malformed JSON is 400, never 5xx', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/anything', headers: { 'content-type': 'application/json' }, payload: '{bad' });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('bodies over 1 MiB are 413', async () => {
    const payload = JSON.stringify({ big: 'x'.repeat(1024 * 1024 + 10) });
    const res = await t.app.inject({ method: 'POST', url: '/healthz', headers: { 'content-type': 'application/json' }, payload });
    expect([404, 413]).toContain(res.statusCode);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
