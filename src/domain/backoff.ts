// Retry delays, as pure functions of the policy, the retry number, the
// previous delay and an injected random source in [0, 1).
import type { RetryPolicy } from './plan.js';

/** Uniform integer in [low, high]. */
function uniform(random: () => number, low: number, high: number): number {
  return Math.floor(low + random() * (high - low));
}

/** F(1) = 1, F(2) = 2, F(n) = F(n-1) + F(n-2): 1, 2, 3, 5, 8, ... */
export function fibonacci(n: number): number {
  let [a, b] = [1, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/** The decorrelated formula (AWS): min(cap, U(base, 3 * previous)), previous starting at base. */
function decorrelated(policy: RetryPolicy, previousDelayMs: number | undefined, random: () => number): number {
  const previous = previousDelayMs ?? policy.baseDelayMs;
  const high = Math.max(policy.baseDelayMs, 3 * previous);
  return Math.min(policy.maxDelayMs, uniform(random, policy.baseDelayMs, high));
}

/** The un-jittered delay of the n-th retry (n = 1 after the first failure), capped. */
export function rawBackoffDelay(policy: RetryPolicy, n: number, previousDelayMs: number | undefined, random: () => number): number {
  const b = policy.baseDelayMs;
  let delay: number;
  switch (policy.backoff) {
    case 'constant':
      delay = b;
      break;
    case 'linear':
      delay = b * n;
      break;
    case 'exponential':
      delay = b * policy.multiplier ** (n - 1);
      break;
    case 'fibonacci':
      delay = b * fibonacci(n);
      break;
    case 'decorrelated':
      delay = decorrelated(policy, previousDelayMs, random);
      break;
  }
  return Math.min(policy.maxDelayMs, Math.floor(delay));
}

export interface BackoffResult {
  /** Milliseconds to wait before the retry. */
  delayMs: number;
  /** Feed back as `previousDelayMs` for the next retry (decorrelated kinds). */
  previousDelayMs: number;
}

/**
 * The delay before the n-th retry: backoff, then jitter, never above
 * maxDelayMs. Decorrelated backoff is already randomised and takes no jitter.
 */
export function nextBackoffDelay(policy: RetryPolicy, n: number, previousDelayMs: number | undefined, random: () => number): BackoffResult {
  const d = rawBackoffDelay(policy, n, previousDelayMs, random);
  if (policy.backoff === 'decorrelated') return { delayMs: d, previousDelayMs: d };
  let delayMs: number;
  switch (policy.jitter) {
    case 'none':
      delayMs = d;
      break;
    case 'full':
      delayMs = uniform(random, 0, d);
      break;
    case 'equal':
      delayMs = Math.floor(d / 2) + uniform(random, 0, d / 2);
      break;
    case 'decorrelated':
      delayMs = decorrelated(policy, previousDelayMs, random);
      break;
  }
  delayMs = Math.max(0, Math.min(policy.maxDelayMs, delayMs));
  return { delayMs, previousDelayMs: delayMs };
}

/** Longest Retry-After honoured, in ms (7 days); longer answers are capped. */
export const MAX_RETRY_AFTER_MS = 7 * 86_400_000;

/** IMF-fixdate, RFC 850 and asctime: the HTTP-date forms (RFC 9110 section 5.6.7). */
const HTTP_DATE = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * A Retry-After header value (delta-seconds or an HTTP date) in milliseconds
 * from `nowMs`, at most 7 days; undefined when absent or malformed. Past
 * dates give 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  if (!HTTP_DATE.some((re) => re.test(trimmed))) return undefined;
  const at = Date.parse(HTTP_DATE[2]!.test(trimmed) ? `${trimmed} GMT` : trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}
