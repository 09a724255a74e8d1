// tracingOn() tells whether spans are real: the API requests' span hooks are
// only registered when it says so.
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterEach, describe, expect, it } from 'vitest';
import { tracingOn } from '../../src/tracing.js';

afterEach(() => trace.disable());

describe('tracingOn', () => {
  it('is false until a tracer provider is registered, true while one is, false again once it is gone', async () => {
    expect(tracingOn()).toBe(false);
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
    provider.register();
    expect(tracingOn()).toBe(true);
    await provider.shutdown();
    trace.disable();
    expect(tracingOn()).toBe(false);
  });
});
