// Times every request into rebound_http_request_duration_seconds, labelled by
// the route template (bounded), never the raw URL.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
