// Durable timers across a kill -9: 1,000 flows parked on a timer, half in
// retry backoff after a 503, half in a `delay` step, coming due 100 a second.
// The service is SIGKILLed while they wait and restarted on the same database
// before the first is due; the restarted process fires every timer once, no
// earlier than the run_at committed before the kill and at most 1 s after it.
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startEffectStub, type EffectStub } from '../helpers/effect-stub.js';
import { query, relaxStubBreaker, service, waitTerminal } from './durability-helpers.js';

const FLOWS = 1000;
/**
 * Submissions per second, so also the rate the timers come due at: a steady
 * load one process carries with room to spare on a 2-CPU machine. (A burst
 * beyond what it sustains is late by its backlog, however timers work.)
 */
const RATE = 100;
/** Backoff and delay, in ms: longer than submitting, parking and restarting take. */
const TIMER_MS = 20_000;
/** How late a timer may fire, in ms. */
const MAX_LATENESS_MS = 1000;
/** Clock slack for "not early", in ms (the stub stamps deliveries in whole ms). */
const SLACK_MS = 5;

const retryPlan = (name: string, stubUrl: string) => ({
  name,
  steps: [
    {
      id: 'call',
      kind: 'http',
      request: { method: 'POST', url: `${stubUrl}/op` },
      retry: { maxAttempts: 2, backoff: 'constant', baseDelayMs: TIMER_MS, maxDelayMs: TIMER_MS, jitter: 'none' },
    },
  ],
});

const delayPlan = (name: string, stubUrl: string) => ({
  name,
  steps: [
    { id: 'wait', kind: 'delay', delayMs: TIMER_MS },
    { id: 'after', kind: 'http', request: { method: 'POST', url: `${stubUrl}/op` } },
  ],
});

/** POSTs plan i at i / RATE seconds from now; resolves with the flow ids. */
function submitPaced(baseUrl: string, plans: unknown[]): Promise<string[]> {
  const start = Date.now();
  return Promise.all(
    plans.map(async (plan, i) => {
      await new Promise((r) => setTimeout(r, start + (i * 1000) / RATE - Date.now()));
      const res = await fetch(`${baseUrl}/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan) });
      if (res.status !== 202) throw new Error(`submission ${i}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    }),
  );
}

interface Timer {
  flowId: string;
  stepId: 'call' | 'wait';
  /** The committed run_at, in epoch ms. */
  dueAt: number;
}

/** The parked timers: retries due for attempt 2, delays waiting to finish. Unleased, due in the future. */
function parkedTimers(url: string, ids: string[]): Promise<Timer[]> {
  return query<Timer>(
    url,
    `SELECT flow_id AS "flowId", step_id AS "stepId", (EXTRACT(EPOCH FROM run_at) * 1000)::float8 AS "dueAt"
       FROM steps
      WHERE flow_id = ANY($1::uuid[]) AND lease_owner IS NULL AND run_at > now()
        AND ((step_id = 'call' AND due_action = 'attempt' AND attempt = 1) OR (step_id = 'wait' AND due_action = 'timer'))`,
    [ids],
  );
}

async function waitParked(url: string, ids: string[], timeoutMs: number): Promise<Timer[]> {
  const started = Date.now();
  for (;;) {
    const timers = await parkedTimers(url, ids);
    if (timers.length === ids.length) return timers;
    if (Date.now() - started > timeoutMs) throw new Error(`only ${timers.length} of ${ids.length} flows parked after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** When each timer's effect reached the stub: attempt 2 of a retry, the step after a delay. */
function firedAt(stub: EffectStub): Map<string, number> {
  const fired = new Map<string, number>();
  for (const d of stub.deliveries) {
    const [flowId, stepId] = d.key.split(':');
    const isTimer = (stepId === 'call' && d.attempt === '2') || (stepId === 'after' && d.attempt === '1');
    if (isTimer && !fired.has(flowId!)) fired.set(flowId!, d.startedAt);
  }
  return fired;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Deliveries per step, attempt and answer, e.g. `call#2 200`. */
function deliveryCounts(stub: EffectStub): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of stub.deliveries) {
    const k = `${d.key.split(':')[1]}#${d.attempt} ${d.status}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

let database: TestDatabase | undefined;
let stub: EffectStub | undefined;
const started: ServiceProcess[] = [];
afterAll(async () => {
  for (const s of started) s.kill('SIGKILL');
  await Promise.all(started.map((s) => s.exited));
  await stub?.close();
  await database?.drop();
});

describe('durable timers', () => {
  it(`${FLOWS} flows in retry backoff or a delay step fire within ${MAX_LATENESS_MS} ms after a kill -9 and restart`, async ({ annotate }) => {
    const t0 = Date.now();
    database = await createTestDatabase();
    stub = await startEffectStub({ failOnce: (key) => key.endsWith(':call') });
    let current = await service(database);
    started.push(current);
    // 500 first attempts fail back to back: keep the stub's shared breaker closed.
    await relaxStubBreaker(current.baseUrl, stub.url);

    const plans = Array.from({ length: FLOWS }, (_, i) => (i % 2 === 0 ? retryPlan(`timers-retry-${i}`, stub!.url) : delayPlan(`timers-delay-${i}`, stub!.url)));
    const ids = await submitPaced(current.baseUrl, plans);
    const submitted = Date.now();
    // The due times, exactly as committed, with nothing leased or in flight.
    const timers = await waitParked(database.url, ids, 30_000);
    const parked = Date.now();
    current.kill('SIGKILL');
    await current.exited;
    await new Promise((r) => setTimeout(r, 1500));
    current = await service(database);
    started.push(current);
    const ready = Date.now();
    const earliestDue = Math.min(...timers.map((t) => t.dueAt));
    // Else the old process should have fired some: raise TIMER_MS.
    expect(earliestDue, `the first timer was due ${Math.round(earliestDue - ready)} ms after the restarted service was ready`).toBeGreaterThan(ready);

    const counts = await waitTerminal(database.url, ids, 30_000);
    const done = Date.now();
    const fired = firedAt(stub);
    const lateness = timers.map((t) => ({ ...t, lateness: (fired.get(t.flowId) ?? Infinity) - t.dueAt })).sort((a, b) => b.lateness - a.lateness);
    const sorted = lateness.map((l) => l.lateness).reverse();
    const summary =
      `lateness ms: min ${sorted[0]!.toFixed(1)}, p50 ${percentile(sorted, 50).toFixed(1)}, p99 ${percentile(sorted, 99).toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}; ` +
      `start and submit ${submitted - t0} ms, parking ${parked - submitted} ms, restart ${ready - parked} ms, first due ${Math.round(earliestDue - ready)} ms after ready, ` +
      `all done ${done - ready} ms after ready, ${done - t0} ms in all`;
    await annotate(summary);
    try {
      expect(counts).toEqual({ completed: FLOWS });
      expect(lateness.filter((l) => l.lateness > MAX_LATENESS_MS)).toEqual([]);
      expect(lateness.filter((l) => l.lateness < -SLACK_MS)).toEqual([]);
      // Every timer fired once: no retry re-sent, no delay finished twice.
      expect(deliveryCounts(stub)).toEqual({ 'call#1 503': FLOWS / 2, 'call#2 200': FLOWS / 2, 'after#1 200': FLOWS / 2 });
    } catch (error) {
      const latest = lateness.slice(0, 10).map((l) => `${l.flowId} ${l.stepId} ${l.lateness.toFixed(1)} ms`);
      throw new Error(
        `${(error as Error).message}\n${summary}\nstatus counts: ${JSON.stringify(counts)}\nlatest: ${latest.join(', ')}\n` +
          `stub: ${stub.deliveries.length} deliveries ${JSON.stringify(deliveryCounts(stub))}, ${stub.effects.size} effects`,
      );
    } finally {
      current.kill('SIGTERM');
      await current.exited;
    }
  }, 90_000);
});
