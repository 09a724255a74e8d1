// Flows API routes: thin handlers over the FlowService.
import { context, trace } from '@opentelemetry/api';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { planSchema } from '../../domain/plan-schema.js';
import { problemResponses } from '../problems.js';
import type { FlowService } from './flow-service.js';
import {
  cancelBody,
  createFlowHeaders,
  createFlowQuery,
  eventList,
  eventsQuery,
  flowList,
  flowListQuery,
  flowView,
  restartBody,
  uuidParam,
} from './schemas.js';

export const flowRoutes: FastifyPluginAsyncZod<{ flows: FlowService }> = async (app, { flows }) => {
  app.post(
    '/v1/flows',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'createFlow',
        tags: ['flows'],
        summary: 'Submit a flow plan',
        description: 'Returns 202 with the flow and a Location header. With `Idempotency-Key`, the same key and body return the existing flow (200); a different body is 409. `?waitMs` waits for a terminal status (200 when reached). 413 when the body exceeds 1 MiB, or when `defaults`, copied into every step, would exceed 16 MiB.',
        headers: createFlowHeaders,
        querystring: createFlowQuery,
        body: planSchema,
        response: { 200: flowView, 202: flowView, ...problemResponses(400, 401, 403, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const result = await flows.submit(request.body, request.body, {
        idempotencyKey: request.headers['idempotency-key'],
        createdBy: request.principal?.name ?? null,
        waitMs: request.query.waitMs,
        parent: request.span ? trace.setSpan(context.active(), request.span) : undefined,
      });
      const status = !result.created || result.terminal ? 200 : 202;
      return reply.code(status).header('location', `/v1/flows/${result.flow.id}`).send(result.flow);
    },
  );

  app.get(
    '/v1/flows',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listFlows',
        tags: ['flows'],
        summary: 'List flows, newest first',
        querystring: flowListQuery,
        response: { 200: flowList, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => flows.list(request.query),
  );

  app.get(
    '/v1/flows/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getFlow',
        tags: ['flows'],
        summary: 'A flow with its steps and why each ended the way it did',
        params: uuidParam,
        response: { 200: flowView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => flows.get(request.params.id),
  );

  app.get(
    '/v1/flows/:id/events',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listFlowEvents',
        tags: ['flows'],
        summary: "The flow's ordered event log",
        params: uuidParam,
        querystring: eventsQuery,
        response: { 200: eventList, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => flows.events(request.params.id, request.query.after ?? 0, request.query.limit),
  );

  app.post(
    '/v1/flows/:id/cancel',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'cancelFlow',
        tags: ['flows'],
        summary: 'Cancel a flow, compensating by default in strict and conditional modes',
        params: uuidParam,
        body: cancelBody,
        response: { 200: flowView, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => flows.cancel(request.params.id, request.body?.compensate, request.principal?.name ?? null),
  );

  app.post(
    '/v1/flows/:id/restart',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'restartFlow',
        tags: ['flows'],
        summary: 'Restart a failed, cancelled or completed_with_errors flow from a step',
        description:
          "Steps before fromStep keep their checkpoints; the rest run again. The plan's deadlineMs, if any, counts again from the restart. 409 while an escalation of the flow (a failed compensation) is open: resolve it first.",
        params: uuidParam,
        body: restartBody,
        response: { 202: flowView, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => reply.code(202).send(await flows.restart(request.params.id, request.body?.fromStep, request.body?.input)),
  );
};
