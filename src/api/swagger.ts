// OpenAPI 3.1 generated from the routes' Zod schemas, served at /openapi.json,
// with Swagger UI at /docs. `npm run openapi` writes the same document to
// openapi/openapi.json.
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

export const API_VERSION = '0.1.0';

export async function registerSwagger(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Rebound',
        version: API_VERSION,
        description:
          'HTTP recovery orchestration: durable flows with declarative recovery (retry, circuit breaking, fallback, degradation, escalation, compensation) on PostgreSQL.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key secret from API_KEYS' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'ops', description: 'Health, readiness, metrics and documentation' },
        { name: 'flows', description: 'Submit, inspect, cancel and restart flows' },
        { name: 'tasks', description: 'External workers performing task steps' },
        { name: 'escalations', description: 'Questions to people and their answers' },
        { name: 'errors', description: 'Error classification and patterns' },
        { name: 'circuits', description: 'Shared circuit breakers' },
        { name: 'stats', description: 'Recovery statistics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // Security headers for the HTML pages; API responses (JSON) do without them.
  // Helmet's hooks (one of them async) run for every route of the scope it is
  // registered in, so it lives in a scope holding only the documentation.
  await app.register(async (docs) => {
    await docs.register(helmet, { global: false, contentSecurityPolicy: false });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      uiHooks: {
        onRequest: (_request, reply, next) => {
          reply.helmet({ contentSecurityPolicy: false });
          next();
        },
      },
    });
  });
}
