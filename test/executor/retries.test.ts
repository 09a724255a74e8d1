// The retry rung against a real upstream: backoff kinds and jitters measured
// at the upstream, retryOn, non-retryable 4xx, Retry-After, per-attempt
// timeouts, maxRecoveryTimeMs and the flow deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { RecordedRequest, Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

/** Fails the first `failures` calls per flow with `status`, then succeeds. */
function failThenSucceed(path: string, failures: number, status = 503, headers: Record<string, string> = {}) {
  const seen = new Map<string, number>();
  up.on(path, (r: RecordedRequest) => {
    const key = String(r.headers['idempotency-key']);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n <= failures ? { status, headers, body: { message: `failure ${n}` } } : { body: { ok: true, calls: n } };
  });
}

function callsOf(flowId: string, path: string) {
  return up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId));
}
const gaps = (calls: RecordedRequest[]) => calls.slice(1).map((c, i) => c.at - calls[i]!.at);

async function runRetrying(path: string, retry: Record<string, unknown>) {
  const res = await h.submit({ name: `retry-${path}`, steps: [{ id: 's', kind: 'http', request: { method: 'POST', url: `${up.url}${path}` }, retry }] }, { waitMs: 20_000 });
  return { flow: res.body, calls: callsOf(res.body.id, path) };
}

describe('retry rung', () => {
  it('waits per backoff kind with jitter none (delays measured at the upstream)', async () => {
    const kinds: [string, Record<string, unknown>, number[]][] = [
      ['constant', { backoff: 'constant', baseDelayMs: 150 }, [150, 150, 150]],
      ['linear', { backoff: 'linear', baseDelayMs: 100 }, [100, 200, 300]],
      ['exponential', { backoff: 'exponential', baseDelayMs: 100, multiplier: 2 }, [100, 200, 400]],
      ['fibonacci', { backoff: 'fibonacci', baseDelayMs: 100 }, [100, 200, 300]],
      ['capped', { backoff: 'exponential', baseDelayMs: 100, multiplier: 3, maxDelayMs: 250 }, [100, 250, 250]],
    ];
    const results = await Promise.all(
      kinds.map(async ([name, policy]) => {
        failThenSucceed(`/bk-${name}`, 3);
        return runRetrying(`/bk-${name}`, { maxAttempts: 4, jitter: "none", ...policy });
      }),
    );
    for (const [i, [name, , expected]] of kinds.entries()) {
      const { flow, calls } = results[i]!;
      expect(flow.status, name).toBe('completed');
      expect(calls.map((c) => c.headers['x-rebound-attempt']), name).toEqual(['1', '2', '3', '4']);
      gaps(calls).forEach((gap, j) => {
        expect(gap, `${name} gap ${j}`).toBeGreaterThanOrEqual(expected[j]! - 5);
        expect(gap, `${name} gap ${j}`).toBeLessThan(expected[j]! + 400);
      });
      expect(flow.steps[0]).toMatchObject({ status: 'succeeded', attempts: 4, strategy: 'retry' });
    }
  });

  it('keeps randomised delays within their bounds (full, equal, decorrelated)', async () => {
    // The bounds hold for the delays decided (recovery.decided), exactly; the upstream
    // sees each retry no earlier than decided and at most the load's slack later.
    const cases: [string, Record<string, unknown>, (delay: number, j: number) => boolean][] = [
      ['full', { backoff: 'exponential', baseDelayMs: 200, jitter: 'full' }, (d, j) => d >= 0 && d <= 200 * 2 ** j],
      ['equal', { backoff: 'constant', baseDelayMs: 300, jitter: 'equal' }, (d) => d >= 150 && d <= 300],
      ['decorrelated', { backoff: 'decorrelated', baseDelayMs: 100, maxDelayMs: 500, jitter: 'none' }, (d) => d >= 100 && d <= 500],
      ['decorrelated-jitter', { backoff: 'constant', baseDelayMs: 100, maxDelayMs: 500, jitter: 'decorrelated' }, (d) => d >= 100 && d <= 500],
    ];
    const results = await Promise.all(
      cases.map(async ([name, policy]) => {
        failThenSucceed(`/jit-${name}`, 3);
        return runRetrying(`/jit-${name}`, { maxAttempts: 4, ...policy });
      }),
    );
    for (const [i, [name, , within]] of cases.entries()) {
      const { flow, calls } = results[i]!;
      expect(flow.status, name).toBe('completed');
      const delays = (await h.events(flow.id)).filter((e) => e.type === 'recovery.decided').map((e) => e.data.delayMs as number);
      expect(delays, name).toHaveLength(3);
      delays.forEach((d, j) => expect(within(d, j), `${name} delay ${j} = ${d}`).toBe(true));
      gaps(calls).forEach((g, j) => {
        expect(g, `${name} gap ${j}`).toBeGreaterThanOrEqual(delays[j]! - 5);
        expect(g, `${name} gap ${j}`).toBeLessThan(delays[j]! + 400);
      });
    }
  });

  it('gives up after maxAttempts and records every attempt with its classification', async () => {
    failThenSucceed('/always', 99);
    const { flow, calls } = await runRetrying('/always', { maxAttempts: 3, baseDelayMs: 10, jitter: 'none' });
    expect(calls).toHaveLength(3);
    expect(flow.status).toBe('failed');
    expect(flow.steps[0]).toMatchObject({ status: 'failed', attempts: 3, error: { errorType: 'unavailable', httpStatus: 503, message: 'failure 3' } });
    expect(flow.steps[0]!.history.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
    const decided = (await h.events(flow.id)).filter((e) => e.type === 'recovery.decided');
    expect(decided.map((e) => e.data.strategy)).toEqual(['retry', 'retry', 'fail']);
    expect(String(decided[2]!.data.reason)).toContain('3 of 3 attempts');
  });

  it('does not retry a non-retryable 4xx, nor an error type outside retryOn', async () => {
    failThenSucceed('/bad-request', 99, 400);
    const bad = await runRetrying('/bad-request', { maxAttempts: 5, baseDelayMs: 10 });
    expect(bad.calls).toHaveLength(1);
    expect(bad.flow.steps[0]!.error).toMatchObject({ errorType: 'validation', retryable: false });

    failThenSucceed('/rate', 99, 429);
    const outside = await runRetrying('/rate', { maxAttempts: 5, baseDelayMs: 10, retryOn: ['timeout', 'unavailable'] });
    expect(outside.calls).toHaveLength(1);
    const inside = await runRetrying('/rate', { maxAttempts: 2, baseDelayMs: 10, retryOn: ['rate_limited'] });
    expect(inside.calls).toHaveLength(2);
  });

  it('honours Retry-After in seconds and as an HTTP date, never earlier', async () => {
    failThenSucceed('/ra-seconds', 1, 429, { 'retry-after': '1' });
    const seconds = await runRetrying('/ra-seconds', { maxAttempts: 2, baseDelayMs: 10, jitter: 'none' });
    expect(seconds.flow.status).toBe('completed');
    expect(gaps(seconds.calls)[0]).toBeGreaterThanOrEqual(990);

    const seen = new Set<string>();
    up.on('/ra-date', (r) => {
      const key = String(r.headers['idempotency-key']);
      if (seen.has(key)) return { body: { ok: true } };
      seen.add(key);
      return { status: 503, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } };
    });
    const date = await runRetrying('/ra-date', { maxAttempts: 2, baseDelayMs: 10, jitter: 'none' });
    expect(date.flow.status).toBe('completed');
    expect(gaps(date.calls)[0]).toBeGreaterThanOrEqual(1000);

    failThenSucceed('/ra-ignored', 1, 429, { 'retry-after': '5' });
    const ignored = await runRetrying('/ra-ignored', { maxAttempts: 2, baseDelayMs: 10, jitter: 'none', respectRetryAfter: false });
    expect(gaps(ignored.calls)[0]).toBeLessThan(1000);
  }, 30_000);

  it('skips a retry whose Retry-After would pass maxRecoveryTimeMs', async () => {
    failThenSucceed('/ra-too-late', 1, 503, { 'retry-after': '30' });
    const res = await h.submit(
      { name: 'too-late', steps: [{ id: 's', kind: 'http', request: { method: 'POST', url: `${up.url}/ra-too-late` }, maxRecoveryTimeMs: 2000, retry: { maxAttempts: 3 } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    const decided = (await h.events(res.body.id)).find((e) => e.type === 'recovery.decided');
    expect(decided?.data).toMatchObject({ strategy: 'fail' });
    expect(String(decided?.data.reason)).toContain('maxRecoveryTimeMs');
  });

  it('times out a slow attempt (timeoutMs) as a retryable timeout', async () => {
    const seen = new Set<string>();
    up.on('/slow', (r) => {
      const key = String(r.headers['idempotency-key']);
      const first = !seen.has(key);
      seen.add(key);
      return first ? { delayMs: 1500, body: { late: true } } : { body: { ok: true } };
    });
    const res = await h.submit(
      { name: 'slow', steps: [{ id: 's', kind: 'http', timeoutMs: 300, request: { method: 'POST', url: `${up.url}/slow` }, retry: { maxAttempts: 2, baseDelayMs: 10 } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.steps[0]!.history[0]).toMatchObject({ outcome: 'failed', error: { errorType: 'timeout', code: 'ETIMEDOUT', message: 'timeout after 300 ms' } });
  });

  it('classifies a refused connection as network', async () => {
    const res = await h.submit({ name: 'refused', steps: [{ id: 's', kind: 'http', request: { url: 'http://127.0.0.1:1/x' }, retry: { maxAttempts: 1 } }] }, { waitMs: 10_000 });
    expect(res.body.steps[0]!.error).toMatchObject({ errorType: 'network', code: 'ECONNREFUSED' });
  });

  it('fails a flow that passes its deadline with deadline_exceeded', async () => {
    up.on('/forever', () => ({ status: 503 }));
    const res = await h.submit(
      { name: 'deadline', deadlineMs: 600, steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/forever` }, retry: { maxAttempts: 50, backoff: 'constant', baseDelayMs: 100, jitter: 'none' } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(res.body.error).toMatchObject({ errorType: 'deadline_exceeded' });
    expect(callsOf(res.body.id, '/forever').length).toBeLessThan(10);
  });

  it('accepts the longest deadline a plan may have (365 days, past a 32-bit count of ms)', async () => {
    up.on('/quick', () => ({ status: 200, body: { ok: true } }));
    const res = await h.submit({ name: 'long-deadline', deadlineMs: 365 * 86_400_000, steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/quick` } }] }, { waitMs: 10_000 });
    expect(res.statusCode).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(Date.parse(res.body.deadlineAt as string) - Date.parse(res.body.createdAt as string)).toBe(365 * 86_400_000);
  });
});
