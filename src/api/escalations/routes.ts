// Escalations API routes.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { uuidParam } from '../flows/schemas.js';
import { problemResponses } from '../problems.js';
import type { EscalationService } from './escalation-service.js';
import { escalationDetails, escalationList, escalationListQuery, resolveBody } from './schemas.js';

export const escalationRoutes: FastifyPluginAsyncZod<{ escalations: EscalationService }> = async (app, { escalations }) => {
  app.get(
    '/v1/escalations',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listEscalations',
        tags: ['escalations'],
        summary: 'List escalations, newest first',
        querystring: escalationListQuery,
        response: { 200: escalationList, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => escalations.list(request.query),
  );

  app.get(
    '/v1/escalations/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getEscalation',
        tags: ['escalations'],
        summary: 'An escalation with its context and allowed actions',
        params: uuidParam,
        response: { 200: escalationDetails, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => escalations.details(request.params.id),
  );

  app.post(
    '/v1/escalations/:id/resolve',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'resolveEscalation',
        tags: ['escalations'],
        summary: 'Answer an open escalation: retry, skip, abort or complete',
        params: uuidParam,
        body: resolveBody,
        response: { 200: escalationDetails, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) =>
      escalations.resolve(request.params.id, {
        action: request.body.action,
        patch: request.body.patch,
        output: request.body.output,
        note: request.body.note,
        resolvedBy: request.principal?.name ?? null,
      }),
  );
};
