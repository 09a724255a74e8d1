// Errors API routes: analysis (operator) and error patterns (viewer reads, admin edits).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ajvFromZod } from '../fast-validator.js';
import { problemResponses } from '../problems.js';
import type { AnalyzeService } from './analyze-service.js';
import { analysisJson } from './analysis-json.js';
import type { PatternService } from './pattern-service.js';
import { analysisView, analyzeBody, createPatternBody, patternList, patternListQuery, patternParams, patternView, putPatternBody } from './schemas.js';

/** Body limit of the analyze route, in bytes: a 64 KiB message plus stack and context. */
const ANALYZE_BODY_LIMIT = 256 * 1024;

export const errorRoutes: FastifyPluginAsyncZod<{ analysis: AnalyzeService; patterns: PatternService }> = async (app, { analysis, patterns }) => {
  app.post(
    '/v1/errors/analyze',
    {
      bodyLimit: ANALYZE_BODY_LIMIT,
      // The hottest route: a compiled validator (analyzeBody has no transforms).
      validatorCompiler: ajvFromZod as never,
      serializerCompiler: ({ httpStatus }) => (httpStatus === '200' ? (analysisJson as (data: unknown) => string) : JSON.stringify),
      config: { role: 'operator' },
      schema: {
        operationId: 'analyzeError',
        tags: ['errors'],
        summary: 'Classify an error report and count it in the frequency window',
        body: analyzeBody,
        response: { 200: analysisView, ...problemResponses(400, 401, 403, 413, 429) },
      },
    },
    async (request) => analysis.analyze(request.body),
  );

  app.get(
    '/v1/error-patterns',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'listErrorPatterns', tags: ['errors'], summary: 'List error patterns', querystring: patternListQuery, response: { 200: patternList, ...problemResponses(400, 401, 403) } },
    },
    async (request) => patterns.list(request.query),
  );

  app.post(
    '/v1/error-patterns',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'createErrorPattern',
        tags: ['errors'],
        summary: 'Add an error pattern',
        body: createPatternBody,
        response: { 201: patternView, ...problemResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => reply.code(201).send(await patterns.create(request.body, request.principal?.name ?? null)),
  );

  app.get(
    '/v1/error-patterns/:id',
    {
      config: { role: 'viewer' },
      schema: { operationId: 'getErrorPattern', tags: ['errors'], summary: 'An error pattern', params: patternParams, response: { 200: patternView, ...problemResponses(400, 401, 403, 404) } },
    },
    async (request) => patterns.get(request.params.id),
  );

  app.put(
    '/v1/error-patterns/:id',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'replaceErrorPattern',
        tags: ['errors'],
        summary: 'Replace an error pattern (built-ins too: set enabled false to disable one)',
        params: patternParams,
        body: putPatternBody,
        response: { 200: patternView, ...problemResponses(400, 401, 403, 404, 422) },
      },
    },
    async (request) => patterns.replace(request.params.id, request.body, request.principal?.name ?? null),
  );

  app.delete(
    '/v1/error-patterns/:id',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'deleteErrorPattern',
        tags: ['errors'],
        summary: 'Delete an error pattern (built-ins cannot be deleted: 409)',
        params: patternParams,
        response: { 204: z.undefined(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await patterns.remove(request.params.id);
      return reply.code(204).send();
    },
  );
};
