// Tasks API routes (operator role): workers poll, heartbeat, complete, fail.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { problemResponses } from '../problems.js';
import { acceptedResponse, completeBody, failBody, heartbeatResponse, pollBody, pollResponse, taskIdParam } from './schemas.js';
import type { TaskService } from './task-service.js';

export const taskRoutes: FastifyPluginAsyncZod<{ tasks: TaskService }> = async (app, { tasks }) => {
  app.post(
    '/v1/tasks/poll',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'pollTasks',
        tags: ['tasks'],
        summary: 'Claim up to `max` tasks of the given types, waiting up to `waitMs` for one',
        body: pollBody,
        response: { 200: pollResponse, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => tasks.poll(request.body),
  );

  app.post(
    '/v1/tasks/:id/heartbeat',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'heartbeatTask',
        tags: ['tasks'],
        summary: "Extend the task's lease (409 if it was lost)",
        params: taskIdParam,
        response: { 200: heartbeatResponse, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => tasks.heartbeat(request.params.id),
  );

  app.post(
    '/v1/tasks/:id/complete',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'completeTask',
        tags: ['tasks'],
        summary: 'Finish the task with its output (409 if the lease was lost)',
        params: taskIdParam,
        body: completeBody,
        response: { 200: acceptedResponse, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => tasks.answer(request.params.id, { ok: true, output: request.body.output ?? null }),
  );

  app.post(
    '/v1/tasks/:id/fail',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'failTask',
        tags: ['tasks'],
        summary: 'Report the task failed; it is classified like any failure (409 if the lease was lost)',
        params: taskIdParam,
        body: failBody,
        response: { 200: acceptedResponse, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const e = request.body.error;
      return tasks.answer(request.params.id, {
        ok: false,
        failure: { source: 'task', message: e.message, code: e.code, hintType: e.type, retryable: e.retryable, retryAfterMs: e.retryAfterMs },
      });
    },
  );
};
