// Header values whose names look secret (authorization, cookie, token,
// secret, key, password) are sent intact to targets but never shown: API
// responses, events and escalation context pass through redactSecrets.

const SECRET_NAME = /authorization|cookie|token|secret|key|password/i;
export const REDACTED = '[redacted]';

function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_NAME.test(name) ? REDACTED : redactSecrets(value);
  return out;
}

/** "headers" in any case (every response passes each of its keys through this). */
const isHeadersKey = (key: string) => key.length === 7 && key.toLowerCase() === 'headers';
/** A dotted patch path ending in a header name: "request.headers.authorization". */
const DOTTED_HEADER = /(^|\.)headers\.[^.]+$/i;

/** A copy of `value` where every `headers` object has its secret-looking entries replaced. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (isHeadersKey(key) && v !== null && typeof v === 'object' && !Array.isArray(v)) out[key] = redactHeaders(v as Record<string, unknown>);
    // Patches address headers by dotted path.
    else if (key.includes('.') && DOTTED_HEADER.test(key) && SECRET_NAME.test(key.slice(key.lastIndexOf('.') + 1))) out[key] = REDACTED;
    else out[key] = typeof v === 'object' && v !== null ? redactSecrets(v) : v;
  }
  return out as T;
}
