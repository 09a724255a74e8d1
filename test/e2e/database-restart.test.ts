// PostgreSQL restart mid-run: the throwaway cluster behind the service is
// stopped for about 3 s while flows (150 x 4 http steps) run and are being
// submitted, then started again on the same data directory and port. The
// service process never exits, /readyz answers 503 while the database is down
// and 200 after, a POST meanwhile is a 503 problem+json (never a 500), LISTEN
// is re-established, and every flow completes with one effect per step key
// and a gapless event log.
import { afterAll, describe, expect, it } from 'vitest';
import { startEffectStub } from '../helpers/effect-stub.js';
import { startRestartablePostgres, type RestartablePostgres } from '../helpers/restartable-postgres.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { SERVICE_ENV, flowsWithSeqGaps, query, sequentialPlan, submitAll, waitTerminal } from './durability-helpers.js';

const FLOWS = 150;
/** Flows submitted (and running) before the database goes away; the rest are submitted during the outage. */
const FIRST_WAVE = 100;
const STEPS = 4;
/** How long the database stays down, in milliseconds. */
const DOWN_MS = 3000;

let postgres: RestartablePostgres | undefined;
let service: ServiceProcess | undefined;
afterAll(async () => {
  service?.kill('SIGKILL');
  await service?.exited;
  await postgres?.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Polls /readyz every 100 ms until stop(); `seen` keeps each change of answer (0: no answer at all). */
function watchReadiness(baseUrl: string) {
  const seen: number[] = [];
  let polling = true;
  const done = (async () => {
    while (polling) {
      const status = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
        async (res) => (await res.body?.cancel(), res.status),
        () => 0,
      );
      if (seen.at(-1) !== status) seen.push(status);
      await sleep(100);
    }
  })();
  return { seen, stop: () => ((polling = false), done) };
}

async function postDuringOutage(baseUrl: string, plan: unknown) {
  const res = await fetch(`${baseUrl}/v1/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'outage-probe' }, body: JSON.stringify(plan) });
  return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { type?: string } };
}

/** Rejects when the service process exits; races the waits of the run so a crash fails at once, with the output. */
function exitAsFailure(service: ServiceProcess): Promise<never> {
  const failure = service.exited.then((code) => {
    throw new Error(`the service exited (${code}) during the run:\n${service.output().slice(-4000)}`);
  });
  failure.catch(() => undefined); // it exits on purpose at the end
  return failure;
}

/** Sessions of the service's LISTEN connection (the notifier) on the database. */
async function notifierSessions(url: string): Promise<number> {
  const rows = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'rebound-notifier'`);
  return rows[0]!.n;
}

describe('database restart', () => {
  it(`${FLOWS} flows x ${STEPS} steps survive PostgreSQL stopping for ${DOWN_MS / 1000} s`, async () => {
    const cluster = (postgres = await startRestartablePostgres());
    const stub = await startEffectStub({ delayMs: 100 });
    const rebound = (service = await startService({ ...SERVICE_ENV, DATABASE_URL: cluster.url }));
    await rebound.waitReady(60_000);
    const { baseUrl, child } = rebound;
    const exited = exitAsFailure(rebound);
    const unlessExited = <T>(wait: Promise<T>) => Promise.race([wait, exited]);
    const plans = Array.from({ length: FLOWS }, (_, i) => sequentialPlan(`restart-${i}`, stub.url, STEPS));

    const firstIds = await submitAll(() => baseUrl, plans.slice(0, FIRST_WAVE));
    await until(() => stub.deliveries.length >= FIRST_WAVE, 15_000, 'the first wave to be running');
    const readiness = watchReadiness(baseUrl);
    await until(() => readiness.seen.length > 0, 5000, 'the first /readyz answer');
    await cluster.stop();
    const downAt = Date.now();
    // Every plan, the first wave again under its own keys: each is accepted once, when the database is back.
    const submitting = submitAll(() => baseUrl, plans, 16, [503]);
    const probe = await unlessExited(postDuringOutage(baseUrl, sequentialPlan('outage-probe', stub.url, 1)));
    await sleep(DOWN_MS - (Date.now() - downAt));
    await cluster.start();
    await unlessExited(until(() => readiness.seen.includes(503) && readiness.seen.at(-1) === 200, 30_000, '/readyz to recover'));
    await readiness.stop();
    const ids = await unlessExited(submitting);
    const counts = await unlessExited(waitTerminal(cluster.url, ids, 30_000));
    try {
      expect(child.exitCode).toBeNull();
      expect(child.signalCode).toBeNull();
      expect(readiness.seen).toEqual([200, 503, 200]);
      expect(probe).toMatchObject({ status: 503, type: expect.stringMatching(/^application\/problem\+json/), retryAfter: '1', body: { type: 'urn:rebound:problem:unavailable' } });
      expect(ids.slice(0, FIRST_WAVE)).toEqual(firstIds);
      expect(new Set(ids).size).toBe(FLOWS);
      expect(counts).toEqual({ completed: FLOWS });
      const keys = ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id}:s${i}`));
      expect([...stub.effects.keys()].sort()).toEqual([...keys].sort());
      expect([...stub.effects.values()].every((n) => n === 1)).toBe(true);
      expect(await flowsWithSeqGaps(cluster.url, ids)).toEqual([]);
      await until(async () => (await notifierSessions(cluster.url)) === 1, 10_000, 'the LISTEN connection to come back');
    } catch (error) {
      const open = await query<{ id: string; status: string }>(cluster.url, `SELECT id, status FROM flows WHERE id = ANY($1::uuid[]) AND status <> 'completed'`, [ids]);
      throw new Error(
        `${(error as Error).message}\nstatus counts: ${JSON.stringify(counts)}; not completed: ${JSON.stringify(open)}` +
          `\ndeliveries: ${stub.deliveries.length}, effects: ${stub.effects.size}; readiness: ${JSON.stringify(readiness.seen)}; probe: ${JSON.stringify(probe)}\nservice output:\n${rebound.output().slice(-4000)}`,
      );
    } finally {
      rebound.kill('SIGTERM');
      await rebound.exited;
      await stub.close();
    }
  }, 120_000);
});
