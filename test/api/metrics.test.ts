// /metrics after flows with failures and recoveries: counters move by exactly
// what the test caused, with the right labels; the text parses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import { parsePrometheusText, valueOf, type Sample } from '../helpers/prometheus-text.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const scrape = async (): Promise<Sample[]> => parsePrometheusText((await h.app.inject({ method: 'GET', url: '/metrics' })).body);
const fast = { maxAttempts: 3, backoff: 'constant', baseDelayMs: 10, jitter: 'none' };

describe('metrics', () => {
  it('count flows, attempts, recoveries and classifications exactly', async () => {
    const seen = new Set<string>();
    up.on('/flaky', (r) => {
      const k = String(r.headers['idempotency-key']);
      if (seen.has(k)) return { body: {} };
      seen.add(k);
      return { status: 503 };
    });
    up.on('/never', () => ({ status: 429 }));
    const before = await scrape();

    const ok = await h.submit({ name: 'm1', steps: [{ id: 'a', kind: 'http', request: { url: `${up.url}/flaky` }, retry: fast }, { id: 'b', kind: 'noop' }] }, { waitMs: 10_000 });
    const bad = await h.submit({ name: 'm2', steps: [{ id: 'a', kind: 'http', request: { url: `${up.url}/never` }, retry: { ...fast, maxAttempts: 2 } }] }, { waitMs: 10_000 });
    expect([ok.body.status, bad.body.status]).toEqual(['completed', 'failed']);
    await h.app.inject({ method: 'POST', url: '/v1/errors/analyze', payload: { message: 'connection refused' } });

    // A flow's counters move once its executor has seen the commit; a waiting client may be answered
    // first (told by a NOTIFY on another connection), so the scrape waits, briefly, until the last
    // flow (the failed one) is counted.
    let after = await scrape();
    for (let i = 0; i < 100 && valueOf(after, 'rebound_flows_total', { status: 'failed' }) === valueOf(before, 'rebound_flows_total', { status: 'failed' }); i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await scrape();
    }
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('rebound_flows_total', { status: 'completed' })).toBe(1);
    expect(delta('rebound_flows_total', { status: 'failed' })).toBe(1);
    expect(delta('rebound_flow_duration_seconds_count', { status: 'completed' })).toBe(1);
    expect(delta('rebound_step_attempts_total', { kind: 'http', outcome: 'failed' })).toBe(3);
    expect(delta('rebound_step_attempts_total', { kind: 'http', outcome: 'succeeded' })).toBe(1);
    expect(delta('rebound_step_attempts_total', { kind: 'noop', outcome: 'succeeded' })).toBe(1);
    expect(delta('rebound_step_attempt_duration_seconds_count', { kind: 'http' })).toBe(4);
    expect(delta('rebound_recoveries_total', { strategy: 'retry', outcome: 'succeeded' })).toBe(1);
    expect(delta('rebound_recoveries_total', { strategy: 'retry', outcome: 'failed' })).toBe(1);
    expect(delta('rebound_recovery_duration_seconds_count', { strategy: 'retry' })).toBe(2);
    expect(delta('rebound_errors_classified_total', { error_type: 'unavailable' })).toBe(1);
    expect(delta('rebound_errors_classified_total', { error_type: 'rate_limited', severity: 'low' })).toBe(2);
    expect(delta('rebound_errors_classified_total', { error_type: 'network' })).toBe(1);
    expect(valueOf(after, 'rebound_http_request_duration_seconds_count', { method: 'POST', route: '/v1/flows', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(after.some((s) => s.name === 'rebound_http_request_duration_seconds_count' && s.labels.route?.includes(ok.body.id))).toBe(false);
    expect(valueOf(after, 'rebound_executor_lag_seconds_count')).toBeGreaterThan(0);
    expect(after.find((s) => s.name === 'rebound_executor_inflight')).toBeDefined();
  });

  it('reports shared state read from the database: open escalations, ready steps, circuit states and transitions', async () => {
    const approval = await h.submit({ name: 'm3', steps: [{ id: 'ok', kind: 'approval' }] });
    await h.waitFor(approval.body.id, ['waiting']);
    await h.app.inject({ method: 'POST', url: '/v1/circuits/metrics-demo/open' });
    await new Promise((r) => setTimeout(r, 1100));
    const s = await scrape();
    expect(valueOf(s, 'rebound_escalations_open')).toBe(1);
    expect(valueOf(s, 'rebound_circuit_state', { key: 'metrics-demo' })).toBe(2);
    expect(valueOf(s, 'rebound_circuit_transitions_total', { key: 'metrics-demo', to: 'open' })).toBe(1);
    expect(s.find((x) => x.name === 'rebound_executor_ready_steps')?.value).toBeGreaterThanOrEqual(0);
  });
});
