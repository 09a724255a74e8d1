// SIGTERM while attempts are in flight: the process finishes them (or, past
// the drain budget, gives their leases back) and exits 0 within 15 s. After a
// restart nothing is lost: every flow completes, every step key has one
// effect, and nothing acknowledged before the stop is delivered again.
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startEffectStub } from '../helpers/effect-stub.js';
import { attemptsPerKey, flowsWithSeqGaps, openFlowSteps, sequentialPlan, share, service, submitAll, successCommits, waitTerminal } from './durability-helpers.js';

const FLOWS = 120;
const STEPS = 3;
/** Keys whose upstream answers its first delivery slower than the drain budget: abandoned at stop, delivered again after. */
const slow = (key: string) => key.endsWith(':s0') && share(key, 8);
const slowed = new Set<string>();
let slowUntil = Infinity;
const delayFor = (key: string) => {
  if (!slow(key) || slowed.has(key) || Date.now() > slowUntil) return 1200;
  slowed.add(key);
  return 20_000;
};

let database: TestDatabase | undefined;
const started: ServiceProcess[] = [];
afterAll(async () => {
  for (const s of started) s.kill('SIGKILL');
  await database?.drop();
});

describe('drain', () => {
  it('SIGTERM during in-flight attempts exits 0 within 15 s; after a restart nothing is lost or run again', async () => {
    database = await createTestDatabase();
    const stub = await startEffectStub({ delayMs: delayFor });
    const first = await service(database);
    started.push(first);
    // Attempts may take 30 s: the slow ones are still running when the 10 s drain budget ends.
    const plans = Array.from({ length: FLOWS }, (_, i) => {
      const plan = sequentialPlan(`drain-${i}`, stub.url, STEPS);
      return { ...plan, steps: plan.steps.map((step) => ({ ...step, timeoutMs: 30_000 })) };
    });
    const ids = await submitAll(() => first.baseUrl, plans);
    await new Promise((r) => setTimeout(r, 1800)); // second steps in flight
    const inFlight = stub.deliveries.filter((d) => d.endedAt === null).length;
    const stoppedAt = Date.now();
    slowUntil = stoppedAt;
    first.kill('SIGTERM');
    const code = await first.exited;
    const exitMs = Date.now() - stoppedAt;
    // What the stopped process acknowledged: successes committed before it exited.
    const acknowledged = await successCommits(database.url, ids);

    const second = await service(database);
    started.push(second);
    const resumedAt = Date.now();
    const counts = await waitTerminal(database.url, ids, 60_000);
    const resumeMs = Date.now() - resumedAt;
    let detail = '';
    try {
      expect(inFlight).toBeGreaterThan(0);
      expect(code).toBe(0);
      expect(exitMs).toBeLessThanOrEqual(15_000);
      expect(counts).toEqual({ completed: FLOWS });
      // The rest runs at once: nothing waits on a breaker opened by our own cut-off requests.
      expect(resumeMs).toBeLessThan(15_000);
      const keys = ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id}:s${i}`));
      expect([...stub.effects.keys()].sort()).toEqual([...keys].sort());
      // Drained attempts were committed: only the abandoned slow ones are delivered twice.
      const twice = keys.filter((k) => stub.deliveries.filter((d) => d.key === k).length > 1);
      expect(twice.every(slow)).toBe(true);
      expect(twice.length).toBeGreaterThan(0); // the drain budget ran out on some: the abandon path ran
      const again = stub.deliveries.filter((d) => d.startedAt > stoppedAt && acknowledged.has(d.key));
      expect(again.map((d) => d.key)).toEqual([]);
      expect(await flowsWithSeqGaps(database.url, ids)).toEqual([]);
      // Requests cut off by the stop are not failures: no attempt spent, nothing told to the breaker.
      const attempts = await attemptsPerKey(database.url, ids);
      const spent = keys.filter((k) => attempts.get(k) !== 1);
      detail = JSON.stringify(spent.slice(0, 3).map((k) => [k, attempts.get(k), stub.deliveries.filter((d) => d.key === k)]));
      expect(spent).toEqual([]);
      const breaker = (await (await fetch(`${second.baseUrl}/v1/circuits/${encodeURIComponent(`http:${new URL(stub.url).host}`)}`)).json()) as Record<string, unknown>;
      expect(breaker).toMatchObject({ state: 'closed', failures: 0 });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n${detail}\nexit ${String(code)} after ${exitMs} ms; the rest took ${resumeMs} ms; in flight at SIGTERM: ${inFlight}; status counts: ${JSON.stringify(counts)}; deliveries: ${stub.deliveries.length}\n${await openFlowSteps(database!.url, ids)}\n${first.output().slice(-3000)}\n--- second ---\n${second.output().slice(-3000)}`,
      );
    } finally {
      second.kill('SIGTERM');
      await second.exited;
      await stub.close();
    }
  }, 120_000);
});
