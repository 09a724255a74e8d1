// A retry whose backoff has passed runs in its flow's age order: before the
// steps of flows created after its flow, not behind every step released
// while it waited (store/retry-requeue.ts). One execution slot makes the
// order visible at the upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => {
  h = await startHarness({ executor: { concurrency: 1 } });
  up = await startUpstream();
  await h.relaxBreaker(up.url);
});
afterAll(async () => {
  await h.close();
  await up.close();
});

describe('retry order', () => {
  it("a due retry of an older flow runs before newer flows' waiting steps", async () => {
    let failed = false;
    up.on('/old', () => (failed ? { body: { ok: true } } : ((failed = true), { status: 503, body: { message: 'once' } })));
    up.on('/new', () => ({ body: { ok: true }, delayMs: 120 }));
    const old = await h.submit({
      name: 'old',
      steps: [{ id: 's', kind: 'http', request: { method: 'POST', url: `${up.url}/old` }, retry: { maxAttempts: 3, backoff: 'constant', baseDelayMs: 300, jitter: 'none' } }],
    });
    // Its first call has failed: the retry now waits out its backoff.
    for (let i = 0; i < 200 && up.to('/old').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const newer = [];
    for (let i = 0; i < 8; i++) newer.push((await h.submit({ name: `new-${i}`, steps: [{ id: 's', kind: 'http', request: { method: 'POST', url: `${up.url}/new` } }] })).body.id);
    await h.waitFor(old.body.id, ['completed'], 15_000);
    for (const id of newer) await h.waitFor(id, ['completed'], 15_000);

    // Eight newer steps of 120 ms each run one at a time, about 1 s in all; the retry is due after 300 ms.
    const order = up.requests.filter((r) => r.path === '/old' || r.path === '/new').map((r) => r.path);
    expect(order[0]).toBe('/old');
    const retryAt = order.indexOf('/old', 1);
    expect(retryAt).toBeGreaterThan(0);
    expect(retryAt).toBeLessThan(order.length - 2);
  });
});
