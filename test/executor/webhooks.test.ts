// Webhooks from the outbox: signed, deduplicable by id, retried until a
// receiver that was down for a while has every event.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookDeliverer } from '../../src/executor/webhook-deliverer.js';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type RecordedRequest, type Upstream } from '../helpers/upstream.js';

const SECRET = 'whsec-test';
let h: Harness;
let receiver: Upstream;
let deliverer: ReturnType<typeof createWebhookDeliverer>;
let down = false;
const received = new Map<string, { type: string; flowId: string; data: Record<string, unknown> }>();
let duplicates = 0;
let badSignatures = 0;

function verify(r: RecordedRequest): boolean {
  const expected = `sha256=${createHmac('sha256', SECRET).update(JSON.stringify(r.body)).digest('hex')}`;
  return r.headers['x-rebound-signature'] === expected;
}

beforeAll(async () => {
  h = await startHarness();
  receiver = await startUpstream();
  const handle = (r: RecordedRequest) => {
    if (down) return { status: 503 };
    if (!verify(r)) {
      badSignatures++;
      return { status: 401 };
    }
    const event = r.body as { id: string; type: string; flowId: string; data: Record<string, unknown> };
    if (received.has(event.id)) duplicates++;
    received.set(event.id, event);
    return { status: 204 };
  };
  receiver.on('/hooks', handle);
  receiver.on('/escalations', handle);
  deliverer = createWebhookDeliverer({
    db: h.db,
    logger: createLogger('silent'),
    notifier: h.notifier,
    secret: SECRET,
    escalationUrl: `${receiver.url}/escalations`,
    baseDelayMs: 100,
    maxDelayMs: 400,
    pollIntervalMs: 100,
  });
  deliverer.start();
});
afterAll(async () => {
  await deliverer.stop();
  await h.close();
  await receiver.close();
});

async function until(check: () => boolean, timeoutMs = 10_000) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webhooks', () => {
  it('sends flow.completed and flow.failed to notify.url, signed with X-Rebound-Signature', async () => {
    const ok = await h.submit({ name: 'hooked', notify: { url: `${receiver.url}/hooks` }, steps: [{ id: 'a', kind: 'noop' }] }, { waitMs: 5000 });
    const bad = await h.submit(
      { name: 'hooked-fail', notify: { url: `${receiver.url}/hooks`, events: ['flow.failed'] }, steps: [{ id: 'a', kind: 'noop', output: '{% $error("x") %}' }] },
      { waitMs: 5000 },
    );
    await until(() => [...received.values()].some((e) => e.flowId === bad.body.id));
    const forOk = [...received.values()].filter((e) => e.flowId === ok.body.id);
    expect(forOk.map((e) => e.type)).toEqual(['flow.completed']);
    expect(forOk[0]!.data).toMatchObject({ status: 'completed' });
    expect([...received.values()].filter((e) => e.flowId === bad.body.id).map((e) => e.type)).toEqual(['flow.failed']);
    const raw = receiver.to('/hooks').find((r) => (r.body as { flowId: string }).flowId === ok.body.id)!;
    expect(raw.headers['x-rebound-event']).toBe('flow.completed');
    expect(raw.headers['x-rebound-delivery']).toBe((raw.body as { id: string }).id);
    expect(badSignatures).toBe(0);
  });

  it('sends escalation.created to notify.url and ESCALATION_WEBHOOK_URL', async () => {
    const res = await h.submit({ name: 'approve-me', notify: { url: `${receiver.url}/hooks`, events: ['escalation.created'] }, steps: [{ id: 'ok', kind: 'approval' }] });
    await until(() => receiver.to('/escalations').some((r) => (r.body as { flowId: string }).flowId === res.body.id));
    await until(() => receiver.to('/hooks').some((r) => (r.body as { flowId: string }).flowId === res.body.id));
    const event = receiver.to('/escalations').find((r) => (r.body as { flowId: string }).flowId === res.body.id)!.body as Record<string, unknown>;
    expect(event).toMatchObject({ type: 'escalation.created', stepId: 'ok', escalationId: expect.any(String), data: { kind: 'approval', allowedActions: ['complete', 'abort'] } });
  });

  it('a receiver that is down for a while still gets every event afterwards, each id once', async () => {
    down = true;
    const flows = await Promise.all(Array.from({ length: 5 }, (_, i) => h.submit({ name: `down-${i}`, notify: { url: `${receiver.url}/hooks` }, steps: [{ id: 'a', kind: 'noop' }] }, { waitMs: 5000 })));
    await new Promise((r) => setTimeout(r, 800));
    const rejected = receiver.to('/hooks').filter((r) => flows.some((f) => f.body.id === (r.body as { flowId: string }).flowId)).length;
    expect(rejected).toBeGreaterThanOrEqual(5);
    down = false;
    await until(() => flows.every((f) => [...received.values()].some((e) => e.flowId === f.body.id && e.type === 'flow.completed')));
    const statuses = async () =>
      (await h.db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE flow_id = ANY($1::uuid[]) GROUP BY status`, [flows.map((f) => f.body.id)])).rows;
    let rows = await statuses();
    for (let i = 0; i < 50 && rows.some((r) => r.status !== 'delivered'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await statuses();
    }
    expect(rows).toEqual([{ status: 'delivered', n: 5 }]);
    expect(duplicates).toBe(0);
  });
});
