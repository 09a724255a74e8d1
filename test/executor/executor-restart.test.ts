// Executor replacement: a draining stop in the middle of many flows, and a
// crashed executor whose lease must run out before another replica retries
// the in-flight attempt with the same Idempotency-Key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { RecordedRequest, Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (r: RecordedRequest) => String(r.headers['idempotency-key']);

describe('executor restart', () => {
  it('a draining stop mid-run loses no flow and re-delivers no acknowledged step', async () => {
    const STEPS = ['s1', 's2', 's3'];
    for (const s of STEPS) up.on(`/restart/${s}`, (r) => ({ body: { step: s, key: r.headers['idempotency-key'] }, delayMs: 150 }));
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const sub = await h.submit({
        name: 'restart',
        input: { i },
        steps: STEPS.map((s) => ({ id: s, kind: 'http', request: { method: 'POST', url: `${up.url}/restart/${s}`, body: { i: '{% $input.i %}' } } })),
      });
      expect(sub.statusCode).toBe(202);
      ids.push(sub.body.id);
    }
    const ours = () => up.requests.filter((r) => r.path.startsWith('/restart/'));

    // Let the first steps get going, then stop in the middle of the run.
    const started = Date.now();
    while (ours().length < 10 && Date.now() - started < 10_000) await sleep(10);
    await sleep(100);
    expect(h.executor.inflightCount()).toBeGreaterThan(0);
    await h.executor.stop();
    expect(h.executor.inflightCount()).toBe(0);

    // What was acknowledged (checkpointed as succeeded) before the stop.
    const before = await Promise.all(ids.map((id) => h.flow(id)));
    const acknowledged = new Set<string>();
    for (const f of before) for (const s of f.steps) if (s.status === 'succeeded') acknowledged.add(`${f.id}:${s.id}`);
    const deliveredBeforeRestart = ours().length;
    // The stop really happened mid-run: some steps done, not all.
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(acknowledged.size).toBeLessThan(ids.length * STEPS.length);
    expect(before.filter((f) => f.status === 'completed').length).toBeLessThan(ids.length);
    // A drained executor left nothing half-done: every request sent so far was checkpointed.
    for (const r of ours()) expect(acknowledged.has(keyOf(r))).toBe(true);

    await sleep(300);
    expect(ours().length).toBe(deliveredBeforeRestart); // nothing runs without an executor

    h.addExecutor();
    const flows = await Promise.all(ids.map((id) => h.waitFor(id, ['completed', 'completed_with_errors', 'failed', 'cancelled'], 30_000)));
    for (const f of flows) {
      expect(f.status).toBe('completed');
      expect(f.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(f.steps.every((s) => s.attempts === 1)).toBe(true);
      for (const s of STEPS) expect(f.output[s]).toMatchObject({ status: 200, body: { step: s, key: `${f.id}:${s}` } });
    }

    const counts = new Map<string, number>();
    for (const r of ours()) counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
    for (const id of ids) for (const s of STEPS) expect(counts.get(`${id}:${s}`) ?? 0).toBeGreaterThanOrEqual(1);
    expect(counts.size).toBe(ids.length * STEPS.length);
    const redelivered = ours()
      .slice(deliveredBeforeRestart)
      .filter((r) => acknowledged.has(keyOf(r)))
      .map(keyOf);
    expect(redelivered).toEqual([]);
    // With a draining stop nothing is in doubt, so every step was delivered exactly once.
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  it('a crashed executor: its lease runs out, then another replica retries with the same Idempotency-Key', async () => {
    const harness = await startHarness({ startExecutor: false, env: { LEASE_MS: '1000' } });
    try {
      up.on('/crash/a', (r) => ({ body: { attempt: r.headers['x-rebound-attempt'] ?? null } }));
      up.on('/crash/b', () => ({ body: { ok: true } }));
      const sub = await harness.submit({
        name: 'crashed',
        steps: [
          { id: 'a', kind: 'http', request: { method: 'POST', url: `${up.url}/crash/a` } },
          { id: 'b', kind: 'http', request: { method: 'POST', url: `${up.url}/crash/b` } },
        ],
      });
      expect(sub.statusCode).toBe(202);
      const flowId = sub.body.id;
      const key = `${flowId}:a`;

      // A "dead" replica claimed step a (lease of 1 s) and sent the request, then crashed.
      const { rowCount } = await harness.db.query(
        `UPDATE steps SET lease_owner = 'dead', lease_expires_at = now() + interval '1 second', run_at = now() + interval '1 second',
                status = 'running', started_at = now(), updated_at = now()
          WHERE flow_id = $1 AND step_id = 'a' AND lease_owner IS NULL`,
        [flowId],
      );
      expect(rowCount).toBe(1);
      const leasedAt = Date.now();
      const dead = await fetch(`${up.url}/crash/a`, { method: 'POST', headers: { 'idempotency-key': key, 'x-rebound-attempt': '1' } });
      expect(dead.status).toBe(200);

      harness.addExecutor({ leaseMs: 1000 });
      const flow = await harness.waitFor(flowId, ['completed', 'completed_with_errors', 'failed'], 20_000);
      expect(flow.status).toBe('completed');
      expect(flow.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);

      const calls = up.to('/crash/a').filter((r) => keyOf(r) === key);
      expect(calls).toHaveLength(2); // the dead replica's and the retry
      const retry = calls[1]!;
      expect(retry.at - leasedAt).toBeGreaterThanOrEqual(900); // not before the dead lease ran out
      expect(retry.headers['x-rebound-attempt']).toBe('1'); // the dead attempt was never recorded
      expect(flow.steps[0]!.output).toMatchObject({ status: 200, body: { attempt: '1' } });
      expect(up.to('/crash/b').filter((r) => keyOf(r) === `${flowId}:b`)).toHaveLength(1);
    } finally {
      await harness.close();
    }
  }, 30_000);

  it('a stop whose drain runs out releases the lease at once; another replica re-runs with the same key', async () => {
    const harness = await startHarness({ startExecutor: false });
    try {
      up.on('/drain/slow', (r) => ({ body: { n: r.count }, delayMs: r.count === 1 ? 2000 : 0 }));
      const first = harness.addExecutor({ drainMs: 200 });
      const sub = await harness.submit({ name: 'drain', steps: [{ id: 'a', kind: 'http', request: { method: 'POST', url: `${up.url}/drain/slow` } }] });
      const key = `${sub.body.id}:a`;
      while (up.to('/drain/slow').length < 1) await sleep(10);
      const stopping = first.stop();
      await sleep(500); // past drainMs: the unfinished attempt's lease is given back
      const { rows } = await harness.db.query<{ leaseOwner: string | null }>(
        `SELECT lease_owner AS "leaseOwner" FROM steps WHERE flow_id = $1 AND step_id = 'a'`,
        [sub.body.id],
      );
      expect(rows[0]!.leaseOwner).toBeNull();
      harness.addExecutor();
      const flow = await harness.waitFor(sub.body.id, ['completed', 'failed'], 20_000);
      await stopping;
      expect(flow.status).toBe('completed');
      const calls = up.to('/drain/slow').filter((r) => keyOf(r) === key);
      expect(calls).toHaveLength(2);
      expect(calls.map((r) => r.headers['x-rebound-attempt'])).toEqual(['1', '1']);
      // The released attempt's late answer is not committed over the re-run's.
      expect(flow.steps[0]).toMatchObject({ status: 'succeeded', attempts: 1, output: { status: 200, body: { n: 2 } } });
      expect((await harness.flow(sub.body.id)).steps[0]!.output).toMatchObject({ body: { n: 2 } });
    } finally {
      await harness.close();
    }
  }, 30_000);

  it('stop() returns about drainMs after it is called even with an http attempt in flight', async () => {
    const harness = await startHarness({ startExecutor: false });
    try {
      up.on('/drain/stuck', () => ({ body: {}, delayMs: 2000 }));
      const first = harness.addExecutor({ drainMs: 200 });
      await harness.submit({ name: 'drain-bound', steps: [{ id: 'a', kind: 'http', request: { method: 'POST', url: `${up.url}/drain/stuck` } }] });
      while (up.to('/drain/stuck').length < 1) await sleep(10);
      const t0 = Date.now();
      await first.stop();
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await harness.close();
    }
  }, 30_000);
});
