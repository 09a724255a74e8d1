// Runs one `http` attempt with undici: per-attempt timeout by AbortSignal,
// Idempotency-Key and X-Rebound-Attempt headers, no redirects, a 1 MiB cap on
// the response body, JSON parsed. Failures come back as a Failure ready for
// the classifier, never as a thrown error.
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent, request, type Dispatcher } from 'undici';
import type { AddressPolicy } from '../../domain/address-policy.js';
import { parseRetryAfter } from '../../domain/backoff.js';
import type { Failure } from '../../domain/classifier.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../../domain/json-text.js';
import type { HttpRequestSpec } from '../../domain/plan-schema.js';
import { urlParts } from '../../domain/url-parts.js';
import { AttemptDeadline } from './attempt-deadline.js';

/** Largest response body accepted, in bytes (1 MiB). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type HttpResult = { ok: true; output: HttpOutput } | { ok: false; failure: Failure; output?: HttpOutput };

export interface HttpAttempt {
  /** Addresses the request may reach; IP literals are checked here, names by the agent's lookup. */
  policy?: AddressPolicy | undefined;
  request: HttpRequestSpec;
  timeoutMs: number;
  idempotencyKey: string;
  attempt: number;
  /** Extra headers set by Rebound (e.g. traceparent). */
  extraHeaders?: Record<string, string>;
  now: () => number;
}

/** Resolves a host name to its addresses (injectable for tests). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Code of the error a refused address raises (mapped to a non-retryable validation failure). */
export const ADDRESS_REFUSED = 'ERR_ADDRESS_REFUSED';

type LookupCallback = (error: NodeJS.ErrnoException | null, address?: string | { address: string; family: number }[], family?: number) => void;

/**
 * A `lookup` for net.connect that resolves the name and keeps only addresses
 * the policy allows. The socket then connects to exactly the address that was
 * checked, so a DNS answer that changes between check and connect (rebinding)
 * cannot slip through.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { family?: number; all?: boolean }, callback: LookupCallback) => {
    resolve(hostname).then(
      (addresses) => {
        const candidates = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
        const reasons: string[] = [];
        const allowed = candidates.filter((a) => {
          const reason = policy.refusal(hostname, a.address);
          if (reason) reasons.push(reason);
          return !reason;
        });
        if (allowed.length === 0) {
          const error: NodeJS.ErrnoException = new Error(reasons[0] ?? `${hostname} has no address`);
          error.code = reasons.length > 0 ? ADDRESS_REFUSED : 'ENOTFOUND';
          return callback(error);
        }
        if (options.all) callback(null, allowed);
        else callback(null, allowed[0]!.address, allowed[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error),
    );
  };
}

/**
 * One keep-alive connection pool per origin, shared by every attempt of this
 * process; with a policy, every connection goes through guardedLookup.
 */
export function createHttpAgent(options: { policy?: AddressPolicy; resolve?: Resolver } = {}): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    connections: 128,
    pipelining: 1,
    ...(options.policy ? { connect: { lookup: guardedLookup(options.policy, options.resolve) as never } } : {}),
  });
}

/** Why the URL's literal host (an IP, "localhost") may not be reached, else undefined. */
export function literalRefusal(policy: AddressPolicy | undefined, url: string): string | undefined {
  if (!policy) return undefined;
  const hostname = urlParts(url)?.hostname;
  return hostname === undefined ? undefined : policy.literalRefusal(hostname);
}

class BodyTooLargeError extends Error {}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new BodyTooLargeError(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The answer's body: parsed JSON for a JSON content type, else text. JSON
 * nested deeper than MAX_JSON_DEPTH stays text: serialising it again (and
 * Postgres parsing it) would exhaust the stack.
 */
function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString('utf8');
  if (contentType && /[/+]json\b/i.test(contentType) && !nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** DESIGN's message/code extraction from a failed response. */
export function describeHttpFailure(status: number, body: unknown): { message: string; code: string } {
  const fromJson = (obj: Record<string, unknown>): string | undefined => {
    const error = obj.error;
    const nested = error && typeof error === 'object' ? (error as Record<string, unknown>).message : undefined;
    for (const candidate of [obj.message, obj.error, nested, obj.detail]) if (typeof candidate === 'string') return candidate;
    return undefined;
  };
  const json = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const message = (json && fromJson(json)) ?? (typeof body === 'string' && body.length > 0 ? body.slice(0, 4096) : undefined) ?? `HTTP ${status}`;
  const code = json && typeof json.code === 'string' ? json.code : `HTTP_${status}`;
  return { message, code };
}

function buildBody(spec: HttpRequestSpec, headers: Record<string, string>): string | undefined {
  if (spec.body === undefined || spec.method === 'GET' || spec.method === 'HEAD') return undefined;
  if (typeof spec.body === 'string' && headers['content-type'] && !/json/i.test(headers['content-type'])) return spec.body;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(spec.body);
}

function isSuccess(status: number, spec: HttpRequestSpec): boolean {
  return spec.successStatuses ? spec.successStatuses.includes(status) : status >= 200 && status < 300;
}

export async function runHttpAttempt(agent: Dispatcher, attempt: HttpAttempt): Promise<HttpResult> {
  const spec = attempt.request;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k.toLowerCase()] = v;
  const body = buildBody(spec, headers);
  headers['idempotency-key'] = attempt.idempotencyKey;
  headers['x-rebound-attempt'] = String(attempt.attempt);
  Object.assign(headers, attempt.extraHeaders);

  const refused = literalRefusal(attempt.policy, spec.url);
  if (refused) return { ok: false, failure: { source: 'policy', message: refused, code: ADDRESS_REFUSED, retryable: false } };
  const deadline = new AttemptDeadline(attempt.timeoutMs);
  try {
    const res = await request(spec.url, { method: spec.method, headers, body, signal: deadline, dispatcher: agent });
    const raw = await readBody(res.body);
    const responseHeaders = flattenHeaders(res.headers);
    const output: HttpOutput = { status: res.statusCode, headers: responseHeaders, body: decodeBody(raw, responseHeaders['content-type']) };
    if (isSuccess(res.statusCode, spec)) return { ok: true, output };
    const { message, code } = describeHttpFailure(res.statusCode, output.body);
    return {
      ok: false,
      output,
      failure: {
        source: 'http',
        message,
        code,
        httpStatus: res.statusCode,
        retryAfterMs: parseRetryAfter(responseHeaders['retry-after'], attempt.now()),
      },
    };
  } catch (error) {
    if (deadline.aborted) return { ok: false, failure: { source: 'timeout', message: `timeout after ${attempt.timeoutMs} ms`, code: 'ETIMEDOUT' } };
    if (error instanceof BodyTooLargeError) return { ok: false, failure: { source: 'http', message: error.message, code: 'RESPONSE_TOO_LARGE', retryable: false, hintType: 'validation' } };
    const e = error as { message?: string; code?: string; cause?: { code?: string; message?: string } };
    const code = e.cause?.code ?? e.code ?? 'ENETWORK';
    if (code === ADDRESS_REFUSED) return { ok: false, failure: { source: 'policy', message: e.cause?.message ?? e.message ?? 'address refused', code, retryable: false } };
    return { ok: false, failure: { source: 'network', message: e.cause?.message ?? e.message ?? 'network error', code } };
  } finally {
    deadline.clear();
  }
}
