// The service's environment, validated once at boot by one Zod schema.
// A bad value stops start-up with one line naming the variable.
import { isIP } from 'node:net';
import { z } from 'zod';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKey {
  /** Name recorded on submissions, resolutions and edits. */
  name: string;
  secret: string;
  role: Role;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

function integer(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, { error: `expected an integer between ${min} and ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const apiKeys = z.string().transform((value, ctx): ApiKey[] => {
  const keys: ApiKey[] = [];
  for (const entry of commaList(value)) {
    const parts = entry.split(':');
    const [name, secret, role] = parts;
    if (parts.length !== 3 || !name || !secret || !role) {
      ctx.addIssue({ code: 'custom', message: `entry "${name ?? entry}" must be name:secret:role` });
      return z.NEVER;
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      ctx.addIssue({ code: 'custom', message: `entry "${name}" has unknown role "${role}" (admin, operator or viewer)` });
      return z.NEVER;
    }
    if (keys.some((k) => k.name === name)) {
      ctx.addIssue({ code: 'custom', message: `key name "${name}" appears twice` });
      return z.NEVER;
    }
    keys.push({ name, secret, role: role as Role });
  }
  return keys;
});

/** A hostname (matched exactly, case-insensitive) or an IPv4/IPv6 CIDR. */
export type AllowedHost = { kind: 'host'; host: string } | { kind: 'cidr'; address: string; prefix: number; family: 4 | 6 };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

function parseAllowedHost(entry: string): AllowedHost | string {
  const unbracketed = entry.replace(/^\[([^\]]*)\](\/.*)?$/, '$1$2');
  const [address, prefixText, ...rest] = unbracketed.split('/');
  const family = isIP(address ?? '');
  if (family === 4 || family === 6) {
    const max = family === 4 ? 32 : 128;
    if (rest.length > 0) return `"${entry}" is not a valid CIDR`;
    if (prefixText === undefined) return { kind: 'cidr', address: address!, prefix: max, family };
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `"${entry}" is not a valid CIDR`;
    return { kind: 'cidr', address: address!, prefix: Number(prefixText), family };
  }
  if (prefixText !== undefined || !HOSTNAME.test(entry)) return `"${entry}" is neither a hostname nor a CIDR`;
  return { kind: 'host', host: entry.toLowerCase() };
}

const allowedHosts = z.string().transform((value, ctx): AllowedHost[] => {
  const out: AllowedHost[] = [];
  for (const entry of commaList(value)) {
    const parsed = parseAllowedHost(entry);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    out.push(parsed);
  }
  return out;
});

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// or postgresql:// URL' })
    .optional(),
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  API_KEYS: apiKeys.optional(),
  METRICS_TOKEN: z.string().min(1).optional(),
  EXECUTOR_ENABLED: booleanFlag.default(true),
  EXECUTOR_CONCURRENCY: integer(1, 10000).default(256),
  LEASE_MS: integer(1000, 3_600_000).default(30000),
  HTTP_ALLOWED_HOSTS: allowedHosts.optional(),
  WEBHOOK_SECRET: z.string().min(1).optional(),
  ESCALATION_WEBHOOK_URL: url.optional(),
  DATABASE_POOL_SIZE: integer(2, 200).default(20),
  DATABASE_POOL_MIN_IDLE: integer(0, 200).default(10),
  ERROR_WINDOW_MS: integer(1000, 86_400_000).default(300_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  RATE_LIMIT_PER_MINUTE: integer(0, 10_000_000).default(0),
  EMBEDDED_POSTGRES_DIR: z.string().min(1).default('.data/postgres'),
});

export interface Config {
  /** Postgres connection string; undefined starts an embedded PostgreSQL. */
  databaseUrl: string | undefined;
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Empty when auth is off. */
  apiKeys: ApiKey[];
  metricsToken: string | undefined;
  executorEnabled: boolean;
  /** In-flight step executions per process. */
  executorConcurrency: number;
  /** Executor and task-worker lease length, in milliseconds. */
  leaseMs: number;
  httpAllowedHosts: AllowedHost[];
  webhookSecret: string | undefined;
  escalationWebhookUrl: string | undefined;
  /** Connections in the service's Postgres pool. */
  databasePoolSize: number;
  /** Pool connections opened at start-up and kept open while idle (at most the pool size). Defaults to 10. */
  databasePoolMinIdle: number;
  /** Sliding window of the analyze frequency counts, in ms. Defaults to 5 minutes. */
  errorWindowMs: number;
  /** OTLP/HTTP collector base URL; unset leaves tracing off (no-op spans). */
  otlpEndpoint: string | undefined;
  /** Requests per minute per API key on /v1 routes, per replica; 0 turns limiting off. */
  rateLimitPerMinute: number;
  /** Data directory of the embedded PostgreSQL (used when DATABASE_URL is unset). */
  embeddedPostgresDir: string;
}

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError with one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${name}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    apiKeys: e.API_KEYS ?? [],
    metricsToken: e.METRICS_TOKEN,
    executorEnabled: e.EXECUTOR_ENABLED,
    executorConcurrency: e.EXECUTOR_CONCURRENCY,
    leaseMs: e.LEASE_MS,
    httpAllowedHosts: e.HTTP_ALLOWED_HOSTS ?? [],
    webhookSecret: e.WEBHOOK_SECRET,
    escalationWebhookUrl: e.ESCALATION_WEBHOOK_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databasePoolMinIdle: e.DATABASE_POOL_MIN_IDLE,
    errorWindowMs: e.ERROR_WINDOW_MS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    embeddedPostgresDir: e.EMBEDDED_POSTGRES_DIR,
  };
}
