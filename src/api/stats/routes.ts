// GET /v1/stats: recovery statistics from Postgres.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../store/database.js';
import { computeStatistics } from '../../store/statistics.js';
import { problemResponses } from '../problems.js';

const statsQuery = z.strictObject({
  since: z.iso.datetime({ offset: true, error: 'an ISO-8601 time' }).optional().describe('Count from this time (default: everything).'),
});

const statsView = z
  .object({
    since: z.string(),
    flows: z.record(z.string(), z.number().int()).describe('Flows created since, by status.'),
    recoveries: z.array(
      z.object({
        strategy: z.string(),
        attempts: z.number().int().describe('Recovery attempts made with this strategy.'),
        successes: z.number().int().describe('Episodes this strategy ended successfully.'),
        successRate: z.number().nullable().describe('successes / attempts.'),
        meanMs: z.number().nullable(),
        p95Ms: z.number().nullable(),
      }),
    ),
    errors: z.array(z.object({ errorType: z.string(), n: z.number().int() })),
    mttrMs: z.number().nullable().describe('Mean time from first failure to successful recovery.'),
    escalations: z.object({ open: z.number().int(), resolved: z.number().int(), meanTimeToResolveMs: z.number().nullable() }),
    circuits: z.object({ open: z.number().int(), halfOpen: z.number().int() }),
  })
  .meta({ id: 'Statistics' });

export const statsRoutes: FastifyPluginAsyncZod<{ db: Database }> = async (app, { db }) => {
  app.get(
    '/v1/stats',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getStats', tags: ['stats'], summary: 'Recovery statistics', querystring: statsQuery, response: { 200: statsView, ...problemResponses(400, 401, 403) } },
    },
    async (request) => computeStatistics(db, new Date(request.query.since ?? 0), Date.now()),
  );
};
