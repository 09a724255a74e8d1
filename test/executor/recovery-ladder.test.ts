// Every rung of the recovery ladder alone and in sequence (correct -> retry ->
// fallback -> degrade -> escalate -> resolve), with the event log explaining
// each decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHarnessWithUpstream, startHarnessWithUpstream, type EventBody, type Harness } from '../helpers/harness.js';
import type { Upstream } from '../helpers/upstream.js';

let h: Harness;
let up: Upstream;
beforeAll(async () => ({ h, up } = await startHarnessWithUpstream()));
afterAll(() => closeHarnessWithUpstream(h, up));

const decisions = (events: EventBody[]) => events.filter((e) => e.type === 'recovery.decided').map((e) => e.data.strategy);
const callsFor = (flowId: string, path: string) => up.to(path).filter((r) => String(r.headers['idempotency-key']).startsWith(flowId));
const fast = { maxAttempts: 2, backoff: 'constant', baseDelayMs: 20, jitter: 'none' };

describe('recovery ladder, rung by rung', () => {
  it('correct: patches the step (with $error) and re-runs it at once without spending an attempt', async () => {
    up.on('/swap', (r) => {
      const body = r.body as { slippageBps?: number };
      return body.slippageBps === 100 ? { body: { filled: true } } : { status: 422, body: { message: 'slippage too high', code: 'SLIPPAGE' } };
    });
    const res = await h.submit(
      {
        name: 'correct',
        steps: [
          {
            id: 'swap',
            kind: 'http',
            request: { method: 'POST', url: `${up.url}/swap`, body: { amount: 10 } },
            retry: { maxAttempts: 1 },
            corrections: [{ when: { messageMatches: 'slippage' }, patch: { 'request.body.slippageBps': 100, 'request.body.why': '{% $error.code %}' } }],
          },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.steps[0]).toMatchObject({ strategy: 'correct', attempts: 2 });
    const calls = callsFor(res.body.id, '/swap');
    expect(calls.map((c) => [c.headers['x-rebound-attempt'], (c.body as { why?: string }).why])).toEqual([
      ['1', undefined],
      ['2', 'SLIPPAGE'],
    ]);
    const decided = (await h.events(res.body.id)).find((e) => e.type === 'recovery.decided');
    expect(decided?.data).toMatchObject({ strategy: 'correct' });
    expect(String(decided?.data.reason)).toContain('correction 0');
  });

  it('fallback: runs the alternative with its own attempt counter and Idempotency-Key suffix', async () => {
    up.on('/primary', () => ({ status: 503 }));
    up.on('/backup', () => ({ body: { from: 'backup' } }));
    const res = await h.submit(
      {
        name: 'fallback',
        steps: [{ id: 'q', kind: 'http', request: { url: `${up.url}/primary` }, retry: fast, fallbacks: [{ id: 'b', kind: 'http', request: { url: `${up.url}/backup` } }] }],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.steps[0]).toMatchObject({ strategy: 'fallback', alternativeId: 'b', attempts: 3, output: { body: { from: 'backup' } } });
    // It succeeded: the primary's failures are in the attempts, not the step's error.
    expect(res.body.steps[0]!.error).toBeNull();
    expect(callsFor(res.body.id, '/backup').map((c) => [c.headers['idempotency-key'], c.headers['x-rebound-attempt']])).toEqual([[`${res.body.id}:q:b`, '1']]);
    expect(decisions(await h.events(res.body.id))).toEqual(['retry', 'fallback']);
  });

  it('skips retry when a pattern recommends fallback', async () => {
    await h.app.inject({ method: 'POST', url: '/v1/error-patterns', payload: { id: 'stale-quote', name: 'stale', regex: 'quote expired', recommendedStrategy: 'fallback', priority: 900 } });
    await h.registry.refresh();
    up.on('/stale', () => ({ status: 503, body: { message: 'quote expired' } }));
    up.on('/fresh', () => ({ body: {} }));
    const res = await h.submit(
      { name: 'pattern-skip', steps: [{ id: 'q', kind: 'http', request: { url: `${up.url}/stale` }, retry: { maxAttempts: 5 }, fallbacks: [{ id: 'f', kind: 'http', request: { url: `${up.url}/fresh` } }] }] },
      { waitMs: 10_000 },
    );
    expect(callsFor(res.body.id, '/stale')).toHaveLength(1);
    expect(decisions(await h.events(res.body.id))).toEqual(['fallback']);
  });

  it('degrade: patches the primary, carries quality to the step and the flow', async () => {
    up.on('/lend', (r) => ((r.body as { amount: number }).amount <= 50 ? { body: { lent: (r.body as { amount: number }).amount } } : { status: 409, body: { message: 'insufficient liquidity' } }));
    const res = await h.submit(
      {
        name: 'degrade',
        input: { amount: 100 },
        steps: [
          { id: 'lend', kind: 'http', request: { method: 'POST', url: `${up.url}/lend`, body: { amount: '{% $input.amount %}' } }, retry: fast, degradations: [{ id: 'half', quality: 0.5, patch: { 'request.body.amount': '{% $input.amount / 2 %}' } }] },
        ],
      },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.quality).toBe(0.5);
    expect(res.body.steps[0]).toMatchObject({ strategy: 'degrade', alternativeId: 'half', quality: 0.5, output: { body: { lent: 50 } } });
    expect(callsFor(res.body.id, '/lend').at(-1)?.headers['idempotency-key']).toBe(`${res.body.id}:lend:half`);
  });

  it('escalate: opens a recovery escalation; a retry answer with a patch re-runs the step with a fresh counter', async () => {
    up.on('/picky', (r) => ((r.body as { token?: string } | null)?.token === 'ok' ? { body: { accepted: true } } : { status: 401, body: { message: 'Unauthorized' } }));
    const res = await h.submit({
      name: 'escalate',
      steps: [{ id: 'p', kind: 'http', request: { method: 'POST', url: `${up.url}/picky`, body: {} }, retry: fast, escalation: { enabled: true, message: 'needs a token' } }],
    });
    const waiting = await h.waitFor(res.body.id, ['waiting']);
    expect(waiting.steps[0]).toMatchObject({ status: 'waiting', strategy: 'escalate' });
    const list = (await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${res.body.id}&status=open` })).json();
    const esc = (await h.app.inject({ method: 'GET', url: `/v1/escalations/${list.items[0].id}` })).json();
    expect(esc).toMatchObject({ kind: 'recovery', message: 'needs a token', allowedActions: ['retry', 'skip', 'abort', 'complete'], error: { errorType: 'auth' }, context: { step: { status: 'waiting' } } });
    const resolved = await h.app.inject({ method: 'POST', url: `/v1/escalations/${esc.id}/resolve`, payload: { action: 'retry', patch: { 'request.body.token': 'ok' }, note: 'added token' } });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json().resolution).toMatchObject({ action: 'retry', note: 'added token', resolvedBy: null });
    const done = await h.waitFor(res.body.id, ['completed']);
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(callsFor(res.body.id, '/picky').at(-1)?.headers['x-rebound-attempt']).toBe('1');
  });

  it('a recovery escalation that expires applies onTimeout', async () => {
    up.on('/down', () => ({ status: 400 }));
    const res = await h.submit(
      { name: 'expire', mode: 'lenient', steps: [{ id: 'd', kind: 'http', request: { url: `${up.url}/down` }, escalation: { enabled: true, timeoutMs: 300, onTimeout: 'skip' } }, { id: 'next', kind: 'noop', dependsOn: ['d'], output: { seen: '{% $steps.d.output %}' } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.steps.map((s) => s.status)).toEqual(['skipped', 'succeeded']);
    expect((await h.events(res.body.id)).some((e) => e.type === 'escalation.expired')).toBe(true);
  });
});

describe('the whole ladder in sequence', () => {
  it('correct -> retry -> fallback -> degrade -> escalate -> resolve, every decision in the event log', async () => {
    up.on('/main', (r) => {
      const body = r.body as { fixed?: boolean };
      return body.fixed ? { status: 503, body: { message: 'busy' } } : { status: 422, body: { message: 'bad format' } };
    });
    up.on('/alt', () => ({ status: 503, body: { message: 'alt busy' } }));
    const res = await h.submit({
      name: 'ladder',
      steps: [
        {
          id: 's',
          kind: 'http',
          request: { method: 'POST', url: `${up.url}/main`, body: {} },
          retry: fast,
          corrections: [{ when: { errorTypes: ['validation'] }, patch: { 'request.body.fixed': true } }],
          fallbacks: [{ id: 'alt', kind: 'http', request: { method: 'POST', url: `${up.url}/alt` }, retry: { maxAttempts: 1 } }],
          degradations: [{ id: 'lite', quality: 0.8, kind: 'http', request: { method: 'POST', url: `${up.url}/alt` }, retry: { maxAttempts: 1 } }],
          escalation: { enabled: true },
        },
      ],
    });
    const waiting = await h.waitFor(res.body.id, ['waiting']);
    expect(waiting.steps[0]!.strategy).toBe('escalate');
    const events = await h.events(res.body.id);
    expect(decisions(events)).toEqual(['correct', 'retry', 'fallback', 'degrade', 'escalate']);
    for (const e of events.filter((x) => x.type === 'recovery.decided')) expect(String(e.data.reason).length).toBeGreaterThan(10);
    expect(events.filter((e) => e.type === 'attempt.failed').map((e) => (e.data.error as { errorType: string }).errorType)).toEqual(['validation', 'unavailable', 'unavailable', 'unavailable', 'unavailable']);

    const esc = (await h.app.inject({ method: 'GET', url: `/v1/escalations?flowId=${res.body.id}` })).json().items[0];
    await h.app.inject({ method: 'POST', url: `/v1/escalations/${esc.id}/resolve`, payload: { action: 'complete', output: { manual: true } } });
    const done = await h.waitFor(res.body.id, ['completed']);
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', output: { manual: true }, attempts: 5 });
    expect(done.output).toEqual({ s: { manual: true } });
    const tail = (await h.events(res.body.id)).map((e) => e.type).slice(-3);
    expect(tail).toEqual(['escalation.resolved', 'step.succeeded', 'flow.completed']);
  });
});
