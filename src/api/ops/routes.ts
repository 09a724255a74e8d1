// Operational routes at the root: liveness, readiness, metrics, the OpenAPI document.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../../metrics.js';
import { bearerToken, secretsEqual } from '../bearer-token.js';
import { UnauthorizedError, problemResponses } from '../problems.js';

export interface OpsDeps {
  /** Resolves true when the database answers and every migration is applied. */
  isReady: () => Promise<boolean>;
  metrics: Metrics;
  /** Bearer token /metrics requires; undefined leaves it open. */
  metricsToken: string | undefined;
}

const statusSchema = z.object({ status: z.enum(['ok', 'unavailable']) });

export const opsRoutes: FastifyPluginAsyncZod<OpsDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    {
      schema: { operationId: 'getHealth', tags: ['ops'], summary: 'Process liveness', security: [], response: { 200: statusSchema } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['ops'],
        summary: 'Database reachable and migrations applied',
        security: [],
        response: { 200: statusSchema, 503: statusSchema },
      },
    },
    async (_request, reply) => {
      const ready = await deps.isReady().catch(() => false);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable' });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        description: 'Open unless METRICS_TOKEN is set; then it needs `Authorization: Bearer <METRICS_TOKEN>`.',
        response: { 200: z.string(), ...problemResponses(401) },
      },
    },
    async (request, reply) => {
      if (deps.metricsToken !== undefined) {
        const token = bearerToken(request.headers.authorization);
        if (token === undefined || !secretsEqual(token, deps.metricsToken)) {
          throw new UnauthorizedError('GET /metrics requires the METRICS_TOKEN bearer token');
        }
      }
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/openapi.json',
    { schema: { operationId: 'getOpenApi', tags: ['ops'], summary: 'This OpenAPI document', security: [] } },
    async () => app.swagger(),
  );
};
