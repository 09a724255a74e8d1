// Which addresses `http` steps, compensations and webhooks may reach. Client
// plans choose URLs, so by default only public addresses are allowed:
// loopback, private, link-local (169.254.0.0/16, cloud metadata included),
// unique-local, unspecified, multicast and reserved ranges are refused unless
// the host name or a CIDR containing the address is in HTTP_ALLOWED_HOSTS.
import { BlockList, isIP } from 'node:net';
import type { AllowedHost } from '../config.js';

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
  ['100::', 64], // discard
];

const blocked = new BlockList();
for (const [a, p] of BLOCKED_V4) blocked.addSubnet(a, p, 'ipv4');
for (const [a, p] of BLOCKED_V6) blocked.addSubnet(a, p, 'ipv6');

/** The IPv4 address an IPv6 address embeds (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), if any. */
function embeddedV4(ip: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return undefined;
  const [hi, lo] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for addresses in no refused range. */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return !blocked.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedV4(ip);
    if (v4) return isPublicAddress(v4);
    return !blocked.check(ip, 'ipv6');
  }
  return false;
}

/** Literal-host answers remembered per policy (forgotten all at once when full: hosts come from clients). */
const LITERAL_ANSWERS_KEPT = 1024;
/** Longest host name whose answer is kept (a DNS name has at most 253 characters; a bracketed IPv6 literal fewer). */
const MAX_KEPT_HOST_CHARS = 253;

export interface AddressPolicy {
  /** Why `ip` (resolved from `hostname`) may not be reached, or undefined when it may. */
  refusal(hostname: string, ip: string): string | undefined;
  /** For a URL's literal host (an IP or "localhost"): why it is refused, else undefined (names are checked when resolved). */
  literalRefusal(hostname: string): string | undefined;
}

export function createAddressPolicy(allowed: AllowedHost[]): AddressPolicy {
  const hosts = new Set(allowed.flatMap((a) => (a.kind === 'host' ? [a.host] : [])));
  const cidrs = new BlockList();
  for (const a of allowed) if (a.kind === 'cidr') cidrs.addSubnet(a.address, a.prefix, a.family === 4 ? 'ipv4' : 'ipv6');
  const inAllowedCidr = (ip: string) => {
    const family = isIP(ip);
    const v4 = family === 6 ? embeddedV4(ip) : undefined;
    if (v4) return cidrs.check(v4, 'ipv4') || cidrs.check(ip, 'ipv6');
    return family === 4 ? cidrs.check(ip, 'ipv4') : family === 6 ? cidrs.check(ip, 'ipv6') : false;
  };
  const bare = (h: string) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase();

  const refusal = (hostname: string, ip: string) => {
    if (hosts.has(bare(hostname)) || inAllowedCidr(ip) || isPublicAddress(ip)) return undefined;
    return `address ${ip}${bare(hostname) !== ip ? ` (${bare(hostname)})` : ''} is not public; add the host or a CIDR to HTTP_ALLOWED_HOSTS to allow it`;
  };
  const literal = (hostname: string) => {
    const host = bare(hostname);
    if (isIP(host)) return refusal(host, host);
    if ((host === 'localhost' || host.endsWith('.localhost')) && !hosts.has(host)) {
      return `host ${host} is loopback; add it to HTTP_ALLOWED_HOSTS to allow it`;
    }
    return undefined;
  };
  // Every attempt of an http step asks again for the same few hosts; the
  // answer depends only on the host and the (fixed) allow list.
  const answers = new Map<string, string | undefined>();
  return {
    refusal,
    literalRefusal(hostname) {
      if (answers.has(hostname)) return answers.get(hostname);
      const answer = literal(hostname);
      // Names longer than DNS allows are answered, never kept.
      if (hostname.length > MAX_KEPT_HOST_CHARS) return answer;
      if (answers.size >= LITERAL_ANSWERS_KEPT) answers.clear();
      answers.set(hostname, answer);
      return answer;
    },
  };
}
