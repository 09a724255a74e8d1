// The application/json body parser: bodies nested deeper than MAX_JSON_DEPTH
// are refused with 400 before parsing (schema validators and expression
// engines recurse, and a 1 MiB body of brackets would exhaust the stack), and
// so are strings Postgres cannot store (NUL, unpaired surrogates).
import type { FastifyInstance } from 'fastify';
import { hasUnstorableEscape, MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-text.js';
import { BadRequestError } from './problems.js';

export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(new BadRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    if (hasUnstorableEscape(text)) {
      return done(new BadRequestError('strings must not contain NUL characters or unpaired UTF-16 surrogates'), undefined);
    }
    parse(request, body as string, done);
  });
}
