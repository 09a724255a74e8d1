// GET /v1/stats counts exactly what the test caused, and a fresh instance on
// the same database (a restart) answers the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const fast = (maxAttempts: number) => ({ maxAttempts, backoff: 'constant', baseDelayMs: 20, jitter: 'none' });

describe('statistics', () => {
  it('match what the flows did, and agree after a restart', async () => {
    const seen = new Map<string, number>();
    up.on('/flaky', (r) => {
      const k = String(r.headers['idempotency-key']);
      seen.set(k, (seen.get(k) ?? 0) + 1);
      return seen.get(k) === 1 ? { status: 503 } : { body: {} };
    });
    up.on('/down', () => ({ status: 503 }));
    up.on('/ok', () => ({ body: {} }));
    up.on('/auth', () => ({ status: 401 }));

    const a = await h.submit({ name: 'retry-ok', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/flaky` }, retry: fast(3) }] }, { waitMs: 10_000 });
    const b = await h.submit(
      { name: 'fallback-ok', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/down` }, retry: fast(1), fallbacks: [{ id: 'f', kind: 'http', request: { url: `${up.url}/ok` } }] }] },
      { waitMs: 10_000 },
    );
    const c = await h.submit({ name: 'retry-fail', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/down` }, retry: fast(3) }] }, { waitMs: 10_000 });
    const d = await h.submit({ name: 'escalated', steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/auth` }, escalation: { enabled: true } }] });
    await h.waitFor(d.body.id, ['waiting']);
    const esc = (await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${d.body.id}` })).json().items[0];
    await new Promise((r) => setTimeout(r, 100));
    await h.app.inject({ method: 'POST', url: `/v1/escalations/${esc.id}/resolve`, payload: { action: 'complete', output: {} } });
    await h.waitFor(d.body.id, ['completed']);
    const e = await h.submit({ name: 'pending-approval', steps: [{ id: 'ok', kind: 'approval' }] });
    await h.waitFor(e.body.id, ['waiting']);
    await h.app.inject({ method: 'POST', url: '/v1/circuits/isolated/open' });
    expect([a.body.status, b.body.status, c.body.status]).toEqual(['completed', 'completed', 'failed']);

    const stats = (await h.app.inject({ method: 'GET', url: '/v1/stats' })).json();
    expect(stats.flows).toEqual({ completed: 3, failed: 1, waiting: 1 });
    const byStrategy = Object.fromEntries(stats.recoveries.map((r: { strategy: string }) => [r.strategy, r]));
    expect(byStrategy.retry).toMatchObject({ attempts: 3, successes: 1 });
    expect(byStrategy.retry.successRate).toBeCloseTo(1 / 3, 5);
    expect(byStrategy.fallback).toMatchObject({ attempts: 1, successes: 1, successRate: 1 });
    expect(byStrategy.escalate).toMatchObject({ attempts: 0, successes: 1, successRate: null });
    expect(byStrategy.escalate.meanMs).toBeGreaterThanOrEqual(100);
    expect(stats.errors).toEqual([
      { errorType: 'unavailable', n: 5 },
      { errorType: 'auth', n: 1 },
    ]);
    expect(stats.mttrMs).toBeGreaterThan(0);
    expect(stats.escalations).toMatchObject({ open: 1, resolved: 1 });
    expect(stats.escalations.meanTimeToResolveMs).toBeGreaterThanOrEqual(100);
    expect(stats.circuits).toEqual({ open: 1, halfOpen: 0 });

    const later = (await h.app.inject({ method: 'GET', url: `/v1/stats?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}` })).json();
    expect(later.flows).toEqual({});
    expect((await h.app.inject({ method: 'GET', url: '/v1/stats?since=yesterday' })).statusCode).toBe(400);

    const restarted = await startHarness({ database: h.database, startExecutor: false });
    try {
      expect((await restarted.app.inject({ method: 'GET', url: '/v1/stats' })).json()).toEqual(stats);
    } finally {
      await restarted.close();
    }
  }, 30_000);
});
