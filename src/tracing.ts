// OpenTelemetry tracing. The code creates spans through @opentelemetry/api
// only; the SDK and the OTLP exporter are started when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (otherwise every span is a no-op).
// Spans: one per API request, one per flow (at submission), one per step
// attempt (child of its flow's span), and `http` steps send W3C traceparent.
import { context, propagation, ProxyTracerProvider, trace, type Context, type Span, type SpanContext, TraceFlags } from '@opentelemetry/api';

export const tracer = () => trace.getTracer('rebound');

/** What the API's global provider delegates to while no SDK is registered (a no-op provider). */
const NO_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether a tracer provider (the SDK, or a test's) is registered: otherwise every span is a no-op. */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_PROVIDER;
}

/** Starts the SDK with an OTLP/HTTP exporter; returns its shutdown. */
export async function startTracingSdk(endpoint: string, serviceName = 'rebound'): Promise<() => Promise<void>> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  return () => provider.shutdown();
}

/** W3C traceparent of a span, or null for a no-op span. */
export function traceparentOf(span: Span): string | null {
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return null;
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
}

/** A context whose parent is the span a stored traceparent names (possibly in another process). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  const m = traceparent ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent) : null;
  if (!m) return context.active();
  const parent: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true };
  return trace.setSpanContext(context.active(), parent);
}

/** Headers carrying the span's context (traceparent, tracestate) for an outgoing request. */
export function traceHeaders(span: Span): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), headers);
  return headers;
}

/** The context an incoming request's traceparent names. */
export function extractContext(headers: Record<string, unknown>): Context {
  return propagation.extract(context.active(), headers);
}
