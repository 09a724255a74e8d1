// Typed errors the handlers throw, and the problem+json (RFC 9457) shape every
// error response takes. The one error handler lives in problem-handler.ts.
import { z } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const problemSchema = z
  .object({
    type: z.string().describe('URI identifying the problem kind, e.g. urn:rebound:problem:not-found'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z
      .array(z.object({ path: z.string().describe('JSON path of the offending value, e.g. $.steps[2].id'), message: z.string() }))
      .optional(),
  })
  .meta({ id: 'Problem' });

export type Problem = z.infer<typeof problemSchema>;
export interface FieldError {
  path: string;
  message: string;
}

/** Base of every error that maps to a client-visible problem. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  toProblem(): Problem {
    return {
      type: `urn:rebound:problem:${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(this.errors && this.errors.length > 0 ? { errors: this.errors } : {}),
    };
  }
}

export class BadRequestError extends HttpProblem {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, 'invalid-request', 'Invalid request', detail, errors);
  }
}

/** Valid JSON that makes no sense: a cycle, an unknown dependency, a bad expression. */
export class PlanError extends HttpProblem {
  constructor(detail: string, errors?: FieldError[]) {
    super(422, 'unprocessable', 'Unprocessable content', detail, errors);
  }
}

export class NotFoundError extends HttpProblem {
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', detail);
  }
}

export class ConflictError extends HttpProblem {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}

export class UnauthorizedError extends HttpProblem {
  constructor(detail: string) {
    super(401, 'unauthorized', 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends HttpProblem {
  constructor(detail: string) {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

export class ServiceUnavailableError extends HttpProblem {
  constructor(detail: string, retryAfterSeconds = 1) {
    super(503, 'unavailable', 'Service unavailable', detail, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** Response schemas for the problems a route can answer, for the OpenAPI document. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema])) as Record<number, typeof problemSchema>;
}
