// Times every request into rebound_http_request_duration_seconds, labelled by
// the route template (bounded), never the raw URL, and logs one line per
// request (Fastify's own two lines are disabled) with its request id.
import type { FastifyInstance } from 'fastify';
import { unredactedLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics, logger: Logger): void {
  // The line's fields are fixed and hold no secret: no redaction pass.
  const access = unredactedLogger(logger);
  // Label-bound children, cached: prom-client hashes a label object on every observe.
  const children = new Map<string, { observe(value: number): void }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = metrics.httpRequestDuration.labels(request.method, route, String(reply.statusCode));
      children.set(key, child);
    }
    child.observe(ms / 1000);
    access.info({ reqId: request.id, method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(ms * 10) / 10 }, 'request completed');
    done();
  });
}
