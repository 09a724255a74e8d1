// The span tree of one flow, seen through the SDK's in-memory exporter, and
// the traceparent an upstream receives.
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
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
});
