// Three replicas on one database, one SIGKILLed mid-run: the other two finish
// every flow within LEASE_MS + 10 s of the kill, every step key has exactly one
// effect, and no key is ever delivered twice at the same time (a step runs on
// one replica at a time while its lease is valid).
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startEffectStub, type EffectStub } from '../helpers/effect-stub.js';
import { flowsWithSeqGaps, query, relaxStubBreaker, SERVICE_ENV, share, sequentialPlan, service, submitAll, waitTerminal } from './durability-helpers.js';

const FLOWS = 300;
const STEPS = 5;
const LEASE_MS = Number(SERVICE_ENV.LEASE_MS);

let database: TestDatabase | undefined;
const started: ServiceProcess[] = [];
afterAll(async () => {
  for (const s of started) s.kill('SIGKILL');
  await database?.drop();
});

/**
 * The replica with the most deliveries in flight at the stub now, by the lease owner (`host:pid:random`)
 * of each delivered step. Killing it cuts those deliveries off, so the kill interrupts real work. A
 * replica picked by its leases alone may hold only steps it has not sent yet (say, during a pause of its
 * event loop); then nothing it delivered is delivered again, and the test proves nothing.
 */
async function replicaWithDeliveriesInFlight(url: string, stub: EffectStub, replicas: ServiceProcess[]): Promise<ServiceProcess> {
  for (let i = 0; i < 250; i++) {
    const keys = stub.inFlightKeys();
    const rows = await query<{ owner: string; n: number }>(
      url,
      `SELECT s.lease_owner AS owner, count(*)::int AS n
         FROM unnest($1::text[]) AS k(key)
         JOIN steps s ON s.flow_id = split_part(k.key, ':', 1)::uuid AND s.step_id = split_part(k.key, ':', 2)
        WHERE s.lease_owner IS NOT NULL AND s.lease_expires_at > now()
        GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
      [keys],
    );
    const pid = Number(rows[0]?.owner.split(':')[1]);
    const busiest = replicas.find((r) => r.child.pid === pid);
    if (busiest && rows[0]!.n >= 3) return busiest;
    await new Promise((r) => setTimeout(r, 4));
  }
  throw new Error('no replica had 3 deliveries in flight at the stub within about 5 s');
}

describe('replicas', () => {
  it('two of three replicas finish the work of a killed one within LEASE_MS + 10 s, never running a step twice at once', async () => {
    database = await createTestDatabase();
    const stub = await startEffectStub({ delayMs: 20, failOnce: (key) => share(key, 5) });
    const replicas = await Promise.all([service(database), service(database), service(database)]);
    started.push(...replicas);
    await relaxStubBreaker(replicas[0]!.baseUrl, stub.url);
    let turn = 0;
    const plans = Array.from({ length: FLOWS }, (_, i) => sequentialPlan(`replica-${i}`, stub.url, STEPS));
    const ids = await submitAll(() => replicas[turn++ % replicas.length]!.baseUrl, plans);

    // Kill a replica while it has deliveries in flight: the steps it holds stay leased until LEASE_MS
    // passes. (Whichever replica claims first keeps its flows, the next step being claimed by the
    // transaction that completes the previous one, so a replica picked blindly may be idle.)
    await new Promise((r) => setTimeout(r, 500));
    const victim = await replicaWithDeliveriesInFlight(database.url, stub, replicas);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    const counts = await waitTerminal(database.url, ids, LEASE_MS + 10_000);
    const finishedMs = Date.now() - killedAt;
    try {
      expect(counts).toEqual({ completed: FLOWS });
      expect(finishedMs).toBeLessThanOrEqual(LEASE_MS + 10_000);
      expect(stub.overlaps.map((o) => o.key)).toEqual([]);
      const keys = ids.flatMap((id) => Array.from({ length: STEPS }, (_, i) => `${id}:s${i}`));
      expect([...stub.effects.keys()].sort()).toEqual([...keys].sort());
      expect([...stub.effects.values()].every((n) => n === 1)).toBe(true);
      expect(await flowsWithSeqGaps(database.url, ids)).toEqual([]);
      // The kill interrupted real work, or this proves nothing: some keys delivered (answered
      // or cut off) before it were delivered again after it, by the survivors.
      const before = new Set(stub.deliveries.filter((d) => d.startedAt < killedAt && (d.status === 200 || d.aborted)).map((d) => d.key));
      const resumed = stub.deliveries.filter((d) => d.startedAt > killedAt && before.has(d.key));
      expect(resumed.length).toBeGreaterThan(0);
    } catch (error) {
      const aborted = stub.deliveries.filter((d) => d.aborted).length;
      throw new Error(
        `${(error as Error).message}\nstatus counts: ${JSON.stringify(counts)} after ${finishedMs} ms; deliveries: ${stub.deliveries.length}, aborted by the kill: ${aborted}, delivered again after it: ${stub.deliveries.filter((d) => d.startedAt > killedAt).length}, overlaps: ${JSON.stringify(stub.overlaps.slice(0, 5))}`,
      );
    } finally {
      for (const r of replicas.filter((r) => r !== victim)) r.kill('SIGTERM');
      await Promise.all(replicas.map((r) => r.exited));
      await stub.close();
    }
  }, 120_000);
});
