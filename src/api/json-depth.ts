// JSON bodies nested deeper than MAX_JSON_DEPTH are refused with 400 before
// parsing: schema validators and expression engines recurse, and a 1 MiB body
// of brackets would otherwise exhaust the stack.
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from './problems.js';

/** Deepest nesting of arrays and objects accepted in a request body. */
export const MAX_JSON_DEPTH = 100;

/** The deepest bracket nesting of a JSON text (strings skipped), stopping early past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** \u0000, a high surrogate escape not followed by a low one, or a low one not preceded by a high one: Postgres stores none of them. */
const UNSTORABLE_ESCAPE = /\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return done(new BadRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    if (UNSTORABLE_ESCAPE.test(text)) {
      return done(new BadRequestError('strings must not contain NUL characters or unpaired UTF-16 surrogates'), undefined);
    }
    parse(request, body as string, done);
  });
}
