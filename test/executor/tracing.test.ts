// The span tree of one flow, seen through the SDK's in-memory exporter, and
// the traceparent an upstream receives.
import { InMemorySpanExporter, NodeTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const exporter = new InMemorySpanExporter();
let provider: NodeTracerProvider;
let h: Harness;
let up: Upstream;
beforeAll(async () => {
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  h = await startHarness();
  up = await startUpstream();
});
afterAll(async () => {
  await h.close();
  await up.close();
  await provider.shutdown();
});

async function waitForSpan(match: (s: ReadableSpan) => boolean, timeoutMs: number): Promise<ReadableSpan | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = exporter.getFinishedSpans().find(match);
    if (found || Date.now() > until) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('tracing', () => {
  it('links the request, the flow and every attempt in one trace, and sends traceparent upstream', async () => {
    up.on('/t', () => ({ body: {} }));
    const clientTrace = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    const res = await h.submit(
      { name: 'traced', steps: [{ id: 'one', kind: 'http', request: { url: `${up.url}/t` } }, { id: 'two', kind: 'http', request: { url: `${up.url}/t` } }] },
      { waitMs: 10_000, headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` } },
    );
    expect(res.body.status).toBe('completed');
    expect(res.body.traceId).toBe(clientTrace);

    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'POST /v1/flows')!;
    expect(request.spanContext().traceId).toBe(clientTrace);
    expect(request.parentSpanContext?.spanId).toBe(clientSpan);
    const flow = spans.find((s) => s.name === 'flow traced')!;
    expect(flow.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(flow.attributes['rebound.flow.id']).toBe(res.body.id);
    const steps = spans.filter((s) => s.name.startsWith('step ') && s.attributes['rebound.flow.id'] === res.body.id);
    expect(steps.map((s) => s.name).sort()).toEqual(['step one', 'step two']);
    for (const s of steps) {
      expect(s.spanContext().traceId).toBe(clientTrace);
      expect(s.parentSpanContext?.spanId).toBe(flow.spanContext().spanId);
    }
    const calls = up.to('/t').filter((r) => String(r.headers['idempotency-key']).startsWith(res.body.id));
    expect(calls.map((c) => c.headers.traceparent).sort()).toEqual(steps.map((s) => `00-${clientTrace}-${s.spanContext().spanId}-01`).sort());
  });

  it("ends an attempt's span when its call ends, before its checkpoint, so a finished flow's spans are all exported", async () => {
    // The last step's checkpoint finishes the flow; a reader woken by it (a waiting
    // submission) must already find that step's span. The holder keeps the checkpoint
    // waiting on the flow's row lock while the span is looked for.
    const holder = await h.db.pool.connect();
    try {
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      up.on('/held', async () => {
        await holder.query('BEGIN');
        await holder.query('SELECT id FROM flows FOR UPDATE');
        locked();
        return { body: {} };
      });
      const res = await h.submit({ name: 'held', steps: [{ id: 'last', kind: 'http', request: { url: `${up.url}/held` } }] });
      await lockTaken;
      const span = await waitForSpan((s) => s.name === 'step last' && s.attributes['rebound.flow.id'] === res.body.id, 3_000);
      expect(span).toBeDefined();
      expect((await h.flow(res.body.id)).status).not.toBe('completed');
      await holder.query('COMMIT');
      await h.waitFor(res.body.id, ['completed']);
    } finally {
      await holder.query('ROLLBACK'); // lets the checkpoint through when an expectation failed
      holder.release();
    }
  });
});
