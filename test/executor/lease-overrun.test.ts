// A row whose lease runs out while this process is still working on it (a
// slow call or commit under load, renewal late) is due again, and the claim
// loop takes it back. The same process must not run that attempt a second
// time: the claim only renews its lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
// The default 30 s lease: renewal runs every 10 s, so the claim loop (polling every 200 ms) takes the row back first.
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

describe('a lease that runs out mid-attempt', () => {
  it('is taken back by the claim loop without a second call', async () => {
    up.on('/slow', () => ({ status: 200, body: { ok: true }, delayMs: 2500 }));
    const res = await h.submit({ name: 'slow', steps: [{ id: 'call', kind: 'http', request: { method: 'POST', url: `${up.url}/slow` }, timeoutMs: 10_000 }] });
    expect(res.statusCode).toBe(202);
    const started = Date.now();
    while (up.to('/slow').length === 0) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The lease runs out while the call is in flight.
    await h.db.query(`UPDATE steps SET lease_expires_at = now() - interval '1 second', run_at = now() - interval '1 second' WHERE flow_id = $1`, [res.body.id]);
    const reclaimed = Date.now();
    for (;;) {
      const { rows } = await h.db.query<{ runAt: Date }>(`SELECT run_at AS "runAt" FROM steps WHERE flow_id = $1`, [res.body.id]);
      if (rows[0]!.runAt.getTime() > Date.now()) break; // claimed again (run_at is the new lease's end)
      expect(Date.now() - reclaimed).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = await h.waitFor(res.body.id, ['completed', 'failed'], 10_000);
    expect(done.status).toBe('completed');
    expect(up.to('/slow')).toHaveLength(1);
    const { rows: attempts } = await h.db.query(`SELECT number FROM attempts WHERE flow_id = $1`, [res.body.id]);
    expect(attempts).toHaveLength(1);
  });
});
