// Times every request into rebound_http_request_duration_seconds, labelled by
// the route template (bounded), never the raw URL, and logs one line per
// request (Fastify's own two lines are disabled) with its request id.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import { accessLineWriter } from './access-line.js';
import type { Metrics } from '../metrics.js';

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics, logger: Logger): void {
  const accessLine = accessLineWriter(logger);
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
    accessLine(request.id, request.method, request.url, reply.statusCode, ms);
    done();
  });
}
