// What the executor reads off an http action's URL (scheme, credentials,
// host), parsed once per distinct URL string: each attempt checks the URL,
// checks its host against the address policy and derives its breaker key,
// three parses of the same string before. The cache is bounded (oldest out).
export interface UrlParts {
  protocol: string;
  /** host:port as in the URL (IPv6 in brackets). */
  host: string;
  hostname: string;
  hasCredentials: boolean;
}

/** Distinct URLs remembered at most (a URL holds at most 4,096 characters). */
const LIMIT = 1024;
const cache = new Map<string, UrlParts | null>();

/** The URL's parts, or undefined when it does not parse. */
export function urlParts(url: string): UrlParts | undefined {
  let parts = cache.get(url);
  if (parts === undefined) {
    try {
      const u = new URL(url);
      parts = { protocol: u.protocol, host: u.host, hostname: u.hostname, hasCredentials: u.username !== '' || u.password !== '' };
    } catch {
      parts = null;
    }
    if (cache.size >= LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(url, parts);
  }
  return parts ?? undefined;
}
