// Circuit breakers shared by flows and replicas: opening, fast failure to a
// fallback, parking until half-open without spending attempts, probes limited
// across replicas, only countable failures counting, operator control.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let a: Harness;
let b: Harness;
let up: Upstream;
beforeAll(async () => {
  a = await startHarness();
  b = await startHarness({ database: a.database });
  up = await startUpstream();
});
afterAll(async () => {
  await b.close();
  await a.close();
  await up.close();
});

const configure = (h: Harness, key: string, config: Record<string, unknown>) => h.app.inject({ method: 'PUT', url: `/v1/circuits/${key}`, payload: config });
const circuit = async (h: Harness, key: string) => (await h.app.inject({ method: 'GET', url: `/v1/circuits/${key}` })).json();
const step = (id: string, key: string, path: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: 'http',
  circuitBreaker: key,
  request: { url: `${up.url}${path}` },
  retry: { maxAttempts: 1 },
  ...extra,
});

describe('circuit breakers', () => {
  it('opens after consecutive countable failures; open breakers send steps to the fallback without calling the target', async () => {
    up.on('/cb1', () => ({ status: 503 }));
    up.on('/cb1-alt', () => ({ body: { alt: true } }));
    expect((await configure(a, 'cb1', { failureThreshold: 2, openMs: 60000 })).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await a.submit({ name: 'trip', mode: 'lenient', steps: [step('s', 'cb1', '/cb1')] }, { waitMs: 10_000 });
      expect(r.body.status).toBe('completed_with_errors');
    }
    expect(await circuit(b, 'cb1')).toMatchObject({ state: 'open', failures: 0 });
    const before = up.to('/cb1').length;
    const res = await b.submit({ name: 'fast-fail', steps: [step('s', 'cb1', '/cb1', { fallbacks: [{ id: 'alt', kind: 'http', request: { url: `${up.url}/cb1-alt` } }] })] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('completed');
    expect(up.to('/cb1').length).toBe(before);
    expect(res.body.steps[0]).toMatchObject({ alternativeId: 'alt', strategy: 'fallback', attempts: 1 });
    const events = await b.events(res.body.id);
    expect(events.find((e) => e.type === 'circuit.rejected')?.data).toMatchObject({ key: 'cb1' });
  });

  it('parks a step without a fallback until half-open, without spending attempts, then closes on a successful probe', async () => {
    let healthy = false;
    up.on('/cb2', () => (healthy ? { body: { ok: true } } : { status: 503 }));
    await configure(a, 'cb2', { failureThreshold: 1, openMs: 700 });
    const trip = await a.submit({ name: 'trip2', mode: 'lenient', steps: [step('s', 'cb2', '/cb2')] }, { waitMs: 10_000 });
    expect(trip.body.status).toBe('completed_with_errors');
    healthy = true;
    const started = Date.now();
    const res = await a.submit({ name: 'parked', steps: [step('s', 'cb2', '/cb2', { retry: { maxAttempts: 1 } })] }, { waitMs: 10_000 });
    expect(res.body.status).toBe('completed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(res.body.steps[0]!.attempts).toBe(1);
    const decided = (await a.events(res.body.id)).filter((e) => e.type === 'recovery.decided');
    expect(decided[0]?.data.strategy).toBe('wait_circuit');
    expect(await circuit(a, 'cb2')).toMatchObject({ state: 'closed' });
  });

  it('counts only timeout, network, rate_limited and unavailable failures', async () => {
    up.on('/cb3', () => ({ status: 400, body: { message: 'nope' } }));
    await configure(a, 'cb3', { failureThreshold: 2, openMs: 60000 });
    for (let i = 0; i < 4; i++) await a.submit({ name: 'bad', mode: 'lenient', steps: [step('s', 'cb3', '/cb3')] }, { waitMs: 10_000 });
    expect(await circuit(a, 'cb3')).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('is shared by two instances: failures seen by either open it for both; half-open admits exactly halfOpenMaxCalls probes in total', async () => {
    let healthy = false;
    up.on('/cb4', async () => (healthy ? { delayMs: 400, body: { ok: true } } : { status: 503 }));
    await configure(a, 'cb4', { failureThreshold: 4, openMs: 800, halfOpenMaxCalls: 2, successThreshold: 2 });
    await Promise.all([
      a.submit({ name: 'ta', mode: 'lenient', steps: [step('s', 'cb4', '/cb4')] }, { waitMs: 10_000 }),
      a.submit({ name: 'ta', mode: 'lenient', steps: [step('s', 'cb4', '/cb4')] }, { waitMs: 10_000 }),
      b.submit({ name: 'tb', mode: 'lenient', steps: [step('s', 'cb4', '/cb4')] }, { waitMs: 10_000 }),
      b.submit({ name: 'tb', mode: 'lenient', steps: [step('s', 'cb4', '/cb4')] }, { waitMs: 10_000 }),
    ]);
    expect(await circuit(a, 'cb4')).toMatchObject({ state: 'open' });
    healthy = true;
    const callsBefore = up.to('/cb4').length;
    const flows = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).submit({ name: 'probe', steps: [step('s', 'cb4', '/cb4', { maxRecoveryTimeMs: 20000 })] })),
    );
    for (const f of flows) await a.waitFor(f.body.id, ['completed'], 20_000);
    // While half-open (until the two probes answer, 400 ms after the first), exactly two calls reach the target.
    const calls = up.to('/cb4').slice(callsBefore);
    const probesAnswered = calls[0]!.at + 400;
    expect(calls.filter((c) => c.at < probesAnswered)).toHaveLength(2);
    expect(calls).toHaveLength(6);
    expect(await circuit(b, 'cb4')).toMatchObject({ state: 'closed' });
  }, 30_000);

  it('opens on the failure rate over the window when failureRateThreshold is set', async () => {
    let n = 0;
    up.on('/cb5', () => (++n % 2 === 0 ? { status: 503 } : { body: {} }));
    await configure(a, 'cb5', { failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 4, windowMs: 60000, openMs: 60000 });
    for (let i = 0; i < 4; i++) await a.submit({ name: 'rate', mode: 'lenient', steps: [step('s', 'cb5', '/cb5')] }, { waitMs: 10_000 });
    expect(await circuit(a, 'cb5')).toMatchObject({ state: 'open', calls: 0 });
  });

  it('can be forced open (isolation) and closed by an operator', async () => {
    up.on('/cb6', () => ({ body: {} }));
    const opened = await a.app.inject({ method: 'POST', url: '/v1/circuits/cb6/open', payload: { durationMs: 60000 } });
    expect(opened.json()).toMatchObject({ state: 'open', forced: true });
    const res = await b.submit({ name: 'isolated', mode: 'lenient', steps: [step('s', 'cb6', '/cb6', { maxRecoveryTimeMs: 300 })] }, { waitMs: 10_000 });
    expect(res.body.steps[0]).toMatchObject({ status: 'failed', error: { errorType: 'circuit_open' } });
    expect(up.to('/cb6')).toHaveLength(0);
    const closed = await a.app.inject({ method: 'POST', url: '/v1/circuits/cb6/close' });
    expect(closed.json()).toMatchObject({ state: 'closed', forced: false });
    const ok = await b.submit({ name: 'reopened', steps: [step('s', 'cb6', '/cb6')] }, { waitMs: 10_000 });
    expect(ok.body.status).toBe('completed');
  });

  it('defaults http steps to http:<host:port>, lists breakers, 404s unknown keys and validates config', async () => {
    up.on('/plain', () => ({ status: 503 }));
    await a.submit({ name: 'plain', mode: 'lenient', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/plain` }, retry: { maxAttempts: 1 } }] }, { waitMs: 10_000 });
    const host = new URL(up.url).host;
    expect(await circuit(a, `http:${host}`)).toMatchObject({ key: `http:${host}`, state: 'closed', failures: 1, configured: false, config: { failureThreshold: 5, openMs: 30000 } });
    const list = (await a.app.inject({ method: 'GET', url: '/v1/circuits?state=open' })).json();
    expect(list.items.every((c: { state: string }) => c.state === 'open')).toBe(true);
    expect((await a.app.inject({ method: 'GET', url: '/v1/circuits/never-used' })).statusCode).toBe(404);
    expect((await configure(a, 'x', { failureThreshold: 0 })).statusCode).toBe(400);
    expect((await configure(a, 'x', { bogus: 1 })).statusCode).toBe(400);
  });
});
