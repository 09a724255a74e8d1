// Circuits API routes: viewers read, operators force open/close, admins configure.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problemResponses } from '../problems.js';
import type { CircuitService } from './circuit-service.js';
import { circuitConfigBody, circuitKeyParams, circuitList, circuitListQuery, circuitView, forceOpenBody } from './schemas.js';

export const circuitRoutes: FastifyPluginAsyncZod<{ circuits: CircuitService }> = async (app, { circuits }) => {
  app.get(
    '/v1/circuits',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'listCircuits', tags: ['circuits'], summary: 'List circuit breakers', querystring: circuitListQuery, response: { 200: circuitList, ...problemResponses(400, 401, 403) } },
    },
    async (request) => circuits.list(request.query),
  );

  app.get(
    '/v1/circuits/:key',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getCircuit', tags: ['circuits'], summary: 'A circuit breaker', params: circuitKeyParams, response: { 200: circuitView, ...problemResponses(400, 401, 403, 404) } },
    },
    async (request) => circuits.get(request.params.key),
  );

  app.put(
    '/v1/circuits/:key',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'configureCircuit',
        tags: ['circuits'],
        summary: "Replace a breaker's configuration (omitted fields take the defaults)",
        params: circuitKeyParams,
        body: circuitConfigBody,
        response: { 200: circuitView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => circuits.configure(request.params.key, request.body),
  );

  app.post(
    '/v1/circuits/:key/open',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'openCircuit',
        tags: ['circuits'],
        summary: 'Force a breaker open (isolation), for durationMs or until closed',
        params: circuitKeyParams,
        body: forceOpenBody,
        response: { 200: circuitView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => circuits.force(request.params.key, true, request.body?.durationMs),
  );

  app.post(
    '/v1/circuits/:key/close',
    {
      config: { role: 'operator' },
      schema: { operationId: 'closeCircuit', tags: ['circuits'], summary: 'Reset a breaker to closed', params: circuitKeyParams, response: { 200: circuitView, ...problemResponses(400, 401, 403) } },
    },
    async (request) => circuits.force(request.params.key, false),
  );
};
