// Errors Fastify and Node answer before a route runs, as problem+json like
// every other error: a URL that does not decode or whose path parameter is
// too long (Fastify's frameworkErrors), and requests Node's HTTP parser
// refuses or that take too long to arrive (the server's clientError).
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, type Problem } from './problems.js';

/** How long a client has to send a whole request (headers and body), in ms. */
export const REQUEST_TIMEOUT_MS = 30_000;

const FRAMEWORK_PROBLEMS: Record<string, Problem> = {
  FST_ERR_BAD_URL: { type: 'urn:rebound:problem:invalid-request', title: 'Invalid request', status: 400, detail: 'the URL does not decode' },
  FST_ERR_MAX_PARAM_LENGTH: { type: 'urn:rebound:problem:uri-too-long', title: 'URI too long', status: 414, detail: 'a path parameter is longer than any this API accepts' },
};

/** Fastify's `frameworkErrors`: the router could not decode the URL or a path parameter is too long. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const problem = FRAMEWORK_PROBLEMS[error.code] ?? FRAMEWORK_PROBLEMS.FST_ERR_BAD_URL!;
  void reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** What Node's parser error means for the client: status, slug, title, detail. */
function clientProblem(code: string | undefined): Problem {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { type: 'urn:rebound:problem:request-timeout', title: 'Request timeout', status: 408, detail: `the request did not arrive whole within ${REQUEST_TIMEOUT_MS / 1000} s` };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { type: 'urn:rebound:problem:headers-too-large', title: 'Request header fields too large', status: 431, detail: 'the request line and headers exceed the server limit' };
  }
  return { type: 'urn:rebound:problem:invalid-request', title: 'Invalid request', status: 400, detail: 'the request is not valid HTTP/1.1' };
}

/** The HTTP server's `clientError`: answers problem+json on the raw socket, then closes it. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const problem = clientProblem(error.code);
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
