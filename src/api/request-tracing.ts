// A server span per API request, continuing the caller's traceparent, while tracing is on.
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { extractContext, tracer, tracingOn } from '../tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's span (null while tracing is off). */
    span: Span | null;
  }
}

/**
 * Registers the span hooks only when a tracer provider is registered (the
 * SDK starts before the app is built): a no-op span cost about 3 % of a
 * request's time on the hottest route (see bench/README.md).
 */
export function registerRequestTracing(app: FastifyInstance): void {
  app.decorateRequest('span', null);
  if (!tracingOn()) return;
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    request.span = tracer().startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
      extractContext(request.headers),
    );
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = request.span;
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
