// `approval` steps (escalations of kind approval: complete, abort, expiry) and
// `delay` steps (durable timers, also across an executor replacement).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, closeHarnessWithUpstream, startHarnessWithUpstream, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

interface Escalation {
  id: string;
  kind: string;
  status: string;
  flowId: string;
  stepId: string;
  allowedActions: string[];
  expiresAt: string | null;
  resolvedAt: string | null;
  resolution: Record<string, unknown> | null;
  error: unknown;
}

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function escalations(flowId: string): Promise<Escalation[]> {
  const res = await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${flowId}` });
  expect(res.statusCode).toBe(200);
  return (res.json() as { items: Escalation[] }).items;
}

/** Waits until the flow has exactly one escalation and returns it. */
async function theEscalation(flowId: string, timeoutMs = 10_000): Promise<Escalation> {
  const started = Date.now();
  for (;;) {
    const items = await escalations(flowId);
    if (items.length > 0) {
      expect(items).toHaveLength(1);
      return items[0]!;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`no escalation for flow ${flowId}`);
    await sleep(50);
  }
}

const resolve = (id: string, body: object) => h.app.inject({ method: 'POST', url: `/v1/escalations/${id}/resolve`, payload: body });

function approvalFlow(name: string, approval: Record<string, unknown> = {}) {
  return {
    name,
    mode: 'strict',
    input: { amount: 5 },
    steps: [
      { id: 'approve', kind: 'approval', ...approval },
      { id: 'next', kind: 'noop', output: { decision: '{% $steps.approve.output.decision %}', amount: '{% $input.amount %}' } },
    ],
  };
}

describe('approval steps', () => {
  it('waits on an approval escalation; complete continues with the given output', async () => {
    const sub = await h.submit(approvalFlow('approval-complete'));
    expect(sub.statusCode).toBe(202);
    const flowId = sub.body.id;
    const esc = await theEscalation(flowId);
    expect(esc).toMatchObject({ kind: 'approval', status: 'open', flowId, stepId: 'approve', resolution: null, expiresAt: null, error: null });
    const filtered = await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${flowId}&kind=approval&status=open` });
    expect((filtered.json() as { items: Escalation[] }).items.map((e) => e.id)).toEqual([esc.id]);
    const none = await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${flowId}&kind=recovery` });
    expect((none.json() as { items: Escalation[] }).items).toEqual([]);
    expect([...esc.allowedActions].sort()).toEqual(['abort', 'complete']);

    const waiting = await h.waitFor(flowId, ['waiting']);
    expect(waiting.steps.map((s) => [s.id, s.status])).toEqual([
      ['approve', 'waiting'],
      ['next', 'pending'],
    ]);

    // An action approvals do not allow is semantically wrong: 422, nothing changes.
    const retry = await resolve(esc.id, { action: 'retry' });
    expect(retry.statusCode).toBe(422);
    expect(retry.headers['content-type']).toContain('application/problem+json');
    expect((await theEscalation(flowId)).status).toBe('open');

    const ok = await resolve(esc.id, { action: 'complete', output: { decision: 'yes' }, note: 'looks fine' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: esc.id, status: 'resolved', resolution: { action: 'complete', note: 'looks fine', output: { decision: 'yes' } } });

    const flow = await h.waitFor(flowId, ['completed']);
    expect(flow.steps.map((s) => [s.id, s.status])).toEqual([
      ['approve', 'succeeded'],
      ['next', 'succeeded'],
    ]);
    expect(flow.output).toEqual({ approve: { decision: 'yes' }, next: { decision: 'yes', amount: 5 } });

    const again = await resolve(esc.id, { action: 'complete', output: { decision: 'no' } });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect((await h.flow(flowId)).output).toMatchObject({ approve: { decision: 'yes' } });

    const types = (await h.events(flowId)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['escalation.created', 'escalation.resolved', 'flow.completed']));
    expect(types.indexOf('escalation.created')).toBeLessThan(types.indexOf('escalation.resolved'));
  }, 30_000);

  it('abort fails the approval step and, in strict mode, the flow', async () => {
    const sub = await h.submit(approvalFlow('approval-abort'));
    const esc = await theEscalation(sub.body.id);
    await h.waitFor(sub.body.id, ['waiting']);
    const res = await resolve(esc.id, { action: 'abort', note: 'not today' });
    expect(res.statusCode).toBe(200);
    const flow = await h.waitFor(sub.body.id, ['failed']);
    const approve = flow.steps.find((s) => s.id === 'approve')!;
    const next = flow.steps.find((s) => s.id === 'next')!;
    expect(approve.status).toBe('failed');
    expect(String(approve.error?.message)).toContain('not today');
    expect(['pending', 'skipped', 'cancelled']).toContain(next.status);
    expect(flow.output).toEqual({});
    expect(flow.error).toMatchObject({ stepId: 'approve' });
    expect((await theEscalation(sub.body.id)).status).toBe('resolved');
  }, 30_000);

  it('an approval past its escalation timeout expires and onTimeout skip lets the flow complete', async () => {
    const sub = await h.submit(approvalFlow('approval-expire-skip', { escalation: { enabled: true, timeoutMs: 500, onTimeout: 'skip' } }));
    const esc = await theEscalation(sub.body.id);
    expect(esc.expiresAt).not.toBeNull();
    const flow = await h.waitFor(sub.body.id, ['completed', 'completed_with_errors', 'failed']);
    expect(flow.status).toBe('completed');
    expect(flow.steps.map((s) => [s.id, s.status])).toEqual([
      ['approve', 'skipped'],
      ['next', 'succeeded'],
    ]);
    const after = (await escalations(sub.body.id))[0]!;
    expect(after.status).toBe('expired');
    const created = Date.parse(flow.createdAt as string);
    expect(Date.parse(flow.finishedAt as string) - created).toBeGreaterThanOrEqual(500);
    expect((await h.events(sub.body.id)).some((e) => e.type === 'escalation.expired')).toBe(true);
    // An expired escalation can no longer be resolved.
    expect((await resolve(esc.id, { action: 'complete', output: {} })).statusCode).toBe(409);
  }, 30_000);

  it('an approval that expires with onTimeout abort fails the flow', async () => {
    const sub = await h.submit(approvalFlow('approval-expire-abort', { escalation: { enabled: true, timeoutMs: 500, onTimeout: 'abort' } }));
    const flow = await h.waitFor(sub.body.id, ['completed', 'completed_with_errors', 'failed']);
    expect(flow.status).toBe('failed');
    expect(flow.steps.find((s) => s.id === 'approve')!.status).toBe('failed');
    expect(flow.steps.find((s) => s.id === 'next')!.status).not.toBe('succeeded');
    expect((await escalations(sub.body.id))[0]!.status).toBe('expired');
  }, 30_000);
});

describe('delay steps', () => {
  it('a delay holds the next step back for at least delayMs', async () => {
    up.on('/after-delay', () => ({ body: { ok: true } }));
    const submittedAt = Date.now();
    const sub = await h.submit({
      name: 'delay',
      steps: [
        { id: 'wait', kind: 'delay', delayMs: 800 },
        { id: 'call', kind: 'http', request: { method: 'POST', url: `${up.url}/after-delay` } },
      ],
    });
    const flow = await h.waitFor(sub.body.id, ['completed']);
    const calls = up.to('/after-delay').filter((r) => r.headers['idempotency-key'] === `${sub.body.id}:call`);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.at - submittedAt).toBeGreaterThanOrEqual(800);
    expect(calls[0]!.at - submittedAt).toBeLessThan(5000);
    expect(Date.parse(flow.finishedAt as string) - Date.parse(flow.createdAt as string)).toBeGreaterThanOrEqual(800);
    const wait = flow.steps.find((s) => s.id === 'wait')!;
    expect(wait.status).toBe('succeeded');
    expect(Date.parse(wait.finishedAt as string) - Date.parse(wait.startedAt as string)).toBeGreaterThanOrEqual(800);
  }, 30_000);

  it('a delay timer survives replacing the executor', async () => {
    const harness = await startHarness();
    try {
      up.on('/after-durable-delay', () => ({ body: { ok: true } }));
      const submittedAt = Date.now();
      const sub = await harness.submit({
        name: 'durable-delay',
        steps: [
          { id: 'wait', kind: 'delay', delayMs: 1500 },
          { id: 'call', kind: 'http', request: { method: 'POST', url: `${up.url}/after-durable-delay` } },
        ],
      });
      await harness.executor.stop();
      // Give the first executor's timer (if any was armed in memory) time to have fired.
      await sleep(300);
      const stopped = await harness.flow(sub.body.id);
      expect(['pending', 'running']).toContain(stopped.status);
      harness.addExecutor();
      const flow = await harness.waitFor(sub.body.id, ['completed']);
      const calls = up.to('/after-durable-delay').filter((r) => r.headers['idempotency-key'] === `${sub.body.id}:call`);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.at - submittedAt).toBeGreaterThanOrEqual(1500);
      expect(flow.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    } finally {
      await harness.close();
    }
  }, 30_000);

  it('a delay armed by one executor fires on time on its replacement (not restarted)', async () => {
    const harness = await startHarness();
    try {
      up.on('/after-armed-delay', () => ({ body: { ok: true } }));
      const sub = await harness.submit({
        name: 'armed-delay',
        steps: [
          { id: 'wait', kind: 'delay', delayMs: 1500 },
          { id: 'call', kind: 'http', request: { method: 'POST', url: `${up.url}/after-armed-delay` } },
        ],
      });
      let armed = await harness.flow(sub.body.id);
      while (armed.steps[0]!.status !== 'running') {
        await sleep(20);
        armed = await harness.flow(sub.body.id);
      }
      const startedAt = Date.parse(armed.steps[0]!.startedAt as string);
      await harness.executor.stop();
      await sleep(1000);
      harness.addExecutor();
      await harness.waitFor(sub.body.id, ['completed']);
      const calls = up.to('/after-armed-delay').filter((r) => r.headers['idempotency-key'] === `${sub.body.id}:call`);
      expect(calls).toHaveLength(1);
      const elapsed = calls[0]!.at - startedAt;
      expect(elapsed).toBeGreaterThanOrEqual(1500);
      // Restarting the timer on the new executor would put the call at >= 1000 + 1500 ms.
      expect(elapsed).toBeLessThan(2400);
    } finally {
      await harness.close();
    }
  }, 30_000);

  it('a delay step logs step.started exactly once', async () => {
    const sub = await h.submit({ name: 'delay-events', steps: [{ id: 'wait', kind: 'delay', delayMs: 50 }] });
    await h.waitFor(sub.body.id, ['completed']);
    const types = (await h.events(sub.body.id)).map((e) => e.type);
    expect(types).toEqual(['flow.started', 'step.started', 'step.succeeded', 'flow.completed']);
  }, 30_000);
});
