// kill -9 at random moments: 300 flows x 5 http steps, 20 % of keys failing
// once. The service is SIGKILLed three times and restarted; every flow still
// completes, every step key has its one effect, nothing acknowledged is
// delivered again, and each flow's event log is gapless.
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startEffectStub } from '../helpers/effect-stub.js';
import { attemptsPerKey, flowsWithSeqGaps, relaxStubBreaker, sequentialPlan, service, share, submitAll, successCommits, waitTerminal } from './durability-helpers.js';

const FLOWS = Number(process.env.KILL9_FLOWS ?? 300);
const STEPS = 5;
const KILLS = 3;
const failsOnce = (key: string) => share(key, 5);

let database: TestDatabase | undefined;
const started: ServiceProcess[] = [];
afterAll(async () => {
  for (const s of started) s.kill('SIGKILL');
  await database?.drop();
});

describe('kill -9', () => {
  it(`${FLOWS} flows x ${STEPS} steps survive ${KILLS} SIGKILLs`, async () => {
    database = await createTestDatabase();
    const stub = await startEffectStub({ failOnce: failsOnce, delayMs: 5 });
    let current = await service(database);
    started.push(current);
    await relaxStubBreaker(current.baseUrl, stub.url);
    const plans = Array.from({ length: FLOWS }, (_, i) => sequentialPlan(`kill9-${i}`, stub.url, STEPS));
    const submitting = submitAll(() => current.baseUrl, plans);

    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 600 + Math.random() * 1400));
      current.kill('SIGKILL');
      await current.exited;
      current = await service(database);
      started.push(current);
    }
    const ids = await submitting;
    const counts = await waitTerminal(database.url, ids, 120_000);
    try {
      expect(counts).toEqual({ completed: FLOWS });
      const keys = ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id}:s${i}`));
      expect([...stub.effects.keys()].sort()).toEqual([...keys].sort());
      expect([...stub.effects.values()].every((n) => n === 1)).toBe(true);

      const attempts = await attemptsPerKey(database.url, ids);
      const deliveries = new Map<string, number>();
      for (const d of stub.deliveries) deliveries.set(d.key, (deliveries.get(d.key) ?? 0) + 1);
      const excess = keys.filter((k) => (deliveries.get(k) ?? 0) - (attempts.get(k) ?? 0) > KILLS);
      expect(excess).toEqual([]);

      const commits = await successCommits(database.url, ids);
      const redelivered = stub.deliveries.filter((d) => d.startedAt > (commits.get(d.key) ?? Infinity) + 50);
      expect(redelivered.map((d) => d.key)).toEqual([]);
      expect(await flowsWithSeqGaps(database.url, ids)).toEqual([]);
    } catch (error) {
      const open = Object.entries(counts).filter(([s]) => s !== 'completed');
      throw new Error(`${(error as Error).message}\nstatus counts: ${JSON.stringify(counts)} (${JSON.stringify(open)}); deliveries: ${stub.deliveries.length}`);
    } finally {
      current.kill('SIGTERM');
      await current.exited;
      await stub.close();
    }
  }, 240_000);
});
