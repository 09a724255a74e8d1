// The one error handler: typed errors, schema validation failures, body-parse
// errors and unknown routes all become application/problem+json. A 5xx body
// never carries internals.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isTransientDatabaseError } from '../store/transient-retry.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE, type FieldError, type Problem } from './problems.js';

function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}) {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** `/body/steps/0/id` (Fastify's instancePath) -> `$.steps[0].id`. */
function jsonPath(context: string, instancePath: string): string {
  const root = context === 'body' ? '$' : `$${context}`;
  return instancePath
    .split('/')
    .filter(Boolean)
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : `${acc}.${part}`), root);
}

const FASTIFY_CLIENT_ERRORS: Record<string, { slug: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'payload-too-large', title: 'Payload too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { slug: 'invalid-request', title: 'Invalid request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'invalid-request', title: 'Invalid request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { slug: 'invalid-request', title: 'Invalid request' },
};

/** Postgres data exceptions caused by input text: invalid byte sequence, untranslatable character, bad JSON text. */
const CLIENT_DATA_SQLSTATES = new Set(['22021', '22P05', '22P02', '22025']);

function isClientDataError(error: unknown, depth = 0): boolean {
  if (depth > 4 || error === null || typeof error !== 'object') return false;
  const e = error as { code?: unknown; originalCode?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
  if ((typeof e.code === 'string' && CLIENT_DATA_SQLSTATES.has(e.code)) || (typeof e.originalCode === 'string' && CLIENT_DATA_SQLSTATES.has(e.originalCode))) return true;
  return isClientDataError(e.cause, depth + 1) || isClientDataError(e.meta?.driverAdapterError, depth + 1);
}

/** `/v1/flows/:id/events` -> a regex for concrete paths of that route. */
function routePattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}

export function registerProblemHandler(app: FastifyInstance): void {
  // Which methods each route answers, so a known path with another method is a 405, not a 404.
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ pattern: routePattern(route.url), methods });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods))];
    if (allowed.length > 0) {
      return sendProblem(
        reply,
        { type: 'urn:rebound:problem:method-not-allowed', title: 'Method not allowed', status: 405, detail: `${path} answers ${allowed.join(', ')}, not ${request.method}` },
        { allow: allowed.join(', ') },
      );
    }
    return sendProblem(reply, { type: 'urn:rebound:problem:not-found', title: 'Not found', status: 404, detail: `no route for ${request.method} ${path}` });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      return sendProblem(reply, error.toProblem(), error.headers);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const context = error.validationContext ?? 'body';
      const errors: FieldError[] = error.validation.map((v) => ({
        path: jsonPath(context, v.instancePath),
        message: v.message ?? 'invalid value',
      }));
      return sendProblem(reply, {
        type: 'urn:rebound:problem:invalid-request',
        title: 'Invalid request',
        status: 400,
        detail: `request ${context} does not match the schema`,
        errors,
      });
    }
    if (Array.isArray(error.validation)) {
      // Ajv-compiled validators (see fast-validator.ts) report in Fastify's own shape.
      const context = error.validationContext ?? 'body';
      return sendProblem(reply, {
        type: 'urn:rebound:problem:invalid-request',
        title: 'Invalid request',
        status: 400,
        detail: `request ${context} does not match the schema`,
        errors: error.validation.map((v) => ({
          path: jsonPath(context, v.instancePath),
          message: v.keyword === 'additionalProperties' ? `unknown field ${String(v.params.additionalProperty)}` : (v.message ?? 'invalid value'),
        })),
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const known = FASTIFY_CLIENT_ERRORS[error.code] ?? {
        slug: status === 429 ? 'rate-limited' : 'invalid-request',
        title: status === 429 ? 'Too many requests' : 'Invalid request',
      };
      const headers: Record<string, string> = {};
      const retryAfter = reply.getHeader('retry-after');
      if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
      return sendProblem(reply, { type: `urn:rebound:problem:${known.slug}`, title: known.title, status, detail: error.message }, headers);
    }
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      // A second line of defence behind the JSON depth limit: recursion on hostile input.
      return sendProblem(reply, { type: 'urn:rebound:problem:invalid-request', title: 'Invalid request', status: 400, detail: 'input nested too deeply' });
    }
    if (isClientDataError(error)) {
      // Postgres refused a value the client sent (NUL characters, unpaired surrogates, ...).
      return sendProblem(reply, { type: 'urn:rebound:problem:invalid-request', title: 'Invalid request', status: 400, detail: 'the request contains text Postgres cannot store (NUL characters or invalid Unicode)' });
    }
    if (isTransientDatabaseError(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      return sendProblem(
        reply,
        { type: 'urn:rebound:problem:unavailable', title: 'Service unavailable', status: 503, detail: 'the database is unavailable; retry shortly' },
        { 'retry-after': '1' },
      );
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, {
      type: 'urn:rebound:problem:internal',
      title: 'Internal error',
      status: 500,
      detail: `internal error (request ${request.id})`,
    });
  });
}
