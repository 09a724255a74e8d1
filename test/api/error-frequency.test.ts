// Frequency escalation across two app instances on one database, counts that
// survive a restart, pattern changes reaching every replica within 2 s, and a
// user pattern changing how a running flow recovers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let a: Harness;
let b: Harness;
beforeAll(async () => {
  a = await startHarness();
  b = await startHarness({ database: a.database, startExecutor: false });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const analyze = async (h: Harness, body: Record<string, unknown>) => (await h.app.inject({ method: 'POST', url: '/v1/errors/analyze', payload: body })).json();

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() - started > timeoutMs) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('frequency escalation', () => {
  it('counts per pattern and per component across two instances and escalates above 5', async () => {
    const message = 'upstream request timed out';
    const first = await analyze(a, { message, component: 'payments' });
    expect(first).toMatchObject({ occurrences: { pattern: 1, component: 1 }, escalate: false, severity: 'medium' });
    for (let i = 0; i < 2; i++) await analyze(a, { message, component: 'payments' });
    for (let i = 0; i < 2; i++) await analyze(b, { message, component: 'ledger' });
    // Let both flush (<= 1 s) and merge.
    await new Promise((r) => setTimeout(r, 2200));
    const sixth = await analyze(b, { message, component: 'payments' });
    expect(sixth.occurrences).toEqual({ pattern: 6, component: 4 });
    expect(sixth.escalate).toBe(true);
    expect(sixth.severity).toBe('high');
    expect(sixth.reasons.join(' ')).toMatch(/6 occurrences/);
  });

  it('never raises fatal, and counts survive a restart of the counters', async () => {
    for (let i = 0; i < 6; i++) await analyze(a, { message: 'heap out of memory', component: 'worker' });
    const last = await analyze(a, { message: 'heap out of memory' });
    expect(last).toMatchObject({ severity: 'fatal', escalate: true });
    await a.frequency.stop();
    const { createErrorFrequency } = await import('../../src/store/error-frequency.js');
    const { createLogger } = await import('../../src/logger.js');
    const fresh = createErrorFrequency({ db: a.db, logger: createLogger('silent') });
    await fresh.start();
    expect(fresh.record('builtin-out-of-memory', 'worker')).toEqual({ pattern: 8, component: 7 });
    await fresh.stop();
  });

  it('never writes once per request: a burst of analyses is one flush', async () => {
    const before = await a.db.query<{ n: number }>(`SELECT coalesce(sum(count), 0)::int AS n FROM error_occurrences WHERE key = 'builtin-rate-limited'`);
    await Promise.all(Array.from({ length: 50 }, () => analyze(b, { message: 'rate limit exceeded' })));
    const during = await a.db.query<{ n: number }>(`SELECT coalesce(sum(count), 0)::int AS n FROM error_occurrences WHERE key = 'builtin-rate-limited'`);
    expect(during.rows[0]!.n - before.rows[0]!.n).toBeLessThan(50);
    await b.frequency.flush();
    const after = await a.db.query<{ n: number }>(`SELECT coalesce(sum(count), 0)::int AS n FROM error_occurrences WHERE key = 'builtin-rate-limited'`);
    expect(after.rows[0]!.n - before.rows[0]!.n).toBe(50);
  });
});

describe('pattern propagation', () => {
  it('a pattern created on one instance classifies on the other within 2 s', async () => {
    const started = Date.now();
    const res = await a.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id: 'ledger-lock', name: 'Ledger lock', regex: 'ledger is locked', errorType: 'conflict', priority: 700 } });
    expect(res.statusCode).toBe(201);
    const seen = await eventually(() => analyze(b, { message: 'the ledger is locked' }), (r) => r.pattern?.id === 'ledger-lock', 3000);
    expect(seen.pattern?.id).toBe('ledger-lock');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('patterns change how a running system recovers', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startUpstream();
    await a.relaxBreaker(up.url);
  });
  afterAll(async () => up.close());

  it('a pattern marking "maintenance window" non-retryable stops retries of a running step', async () => {
    up.on('/maint', () => ({ status: 503, body: { message: 'down for maintenance window' } }));
    const plan = (name: string) => ({ name, steps: [{ id: 's', kind: 'http', request: { url: `${up.url}/maint` }, retry: { maxAttempts: 4, backoff: 'constant', baseDelayMs: 300, jitter: 'none' } }] });
    const before = await a.submit(plan('before'), { waitMs: 10_000 });
    expect(before.body.steps[0]!.attempts).toBe(4);

    const running = await a.submit(plan('during'));
    await eventually(() => a.flow(running.body.id), (f) => f.steps[0]!.attempts >= 1, 3000);
    await b.app.inject({
      method: 'POST',
      url: '/v1/error-patterns',
      payload: { id: 'maintenance', name: 'Maintenance window', regex: '(?i)maintenance window', errorType: 'unavailable', retryable: false, recommendedStrategy: 'escalate', priority: 950 },
    });
    await a.registry.refresh();
    const done = await a.waitFor(running.body.id, ['failed']);
    expect(done.steps[0]!.attempts).toBeLessThan(4);
    expect(done.steps[0]!.error).toMatchObject({ pattern: { id: 'maintenance' }, retryable: false });
  });
});
