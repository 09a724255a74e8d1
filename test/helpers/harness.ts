// The app, an executor and a notifier on a fresh database: what executor and
// API tests drive through HTTP injection.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { PatternSet } from '../../src/domain/pattern-set.js';
import { createAddressPolicy } from '../../src/domain/address-policy.js';
import { createExecutor, type Executor, type ExecutorOptions } from '../../src/executor/executor.js';
import { createNotifier, type Notifier } from '../../src/executor/notifier.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createDatabase, type Database } from '../../src/store/database.js';
import { createErrorFrequency, type ErrorFrequency } from '../../src/store/error-frequency.js';
import { createPatternRegistry, type PatternRegistry } from '../../src/store/pattern-registry.js';
import { sharedStateFromDatabase } from '../../src/store/shared-state.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { startUpstream, type Upstream } from './upstream.js';

export interface Harness {
  app: FastifyInstance;
  db: Database;
  database: TestDatabase;
  notifier: Notifier;
  executor: Executor;
  registry: PatternRegistry;
  frequency: ErrorFrequency;
  /** Starts another executor on the same database (a second replica). */
  addExecutor(options?: Partial<ExecutorOptions>): Executor;
  submit(plan: unknown, options?: { waitMs?: number; headers?: Record<string, string> }): Promise<{ statusCode: number; body: FlowBody }>;
  flow(id: string): Promise<FlowBody>;
  events(id: string): Promise<EventBody[]>;
  /**
   * Raises the failure threshold of the default breaker for `url`'s host, for
   * tests that fail many calls to one upstream on purpose (the shared breaker
   * would otherwise open, as it should in production).
   */
  relaxBreaker(url: string): Promise<void>;
  /** Polls the flow until its status is one of `statuses`. */
  waitFor(id: string, statuses: string[], timeoutMs?: number): Promise<FlowBody>;
  close(): Promise<void>;
}

export interface FlowBody {
  id: string;
  status: string;
  quality: number;
  error: Record<string, unknown> | null;
  output: Record<string, unknown>;
  steps: StepBody[];
  [key: string]: unknown;
}

export interface StepBody {
  id: string;
  status: string;
  attempts: number;
  strategy: string | null;
  alternativeId: string | null;
  quality: number | null;
  output: unknown;
  error: Record<string, unknown> | null;
  compensation: { status: string; error: unknown } | null;
  history: { number: number; outcome: string; alternativeId: string | null; phase: string; error: Record<string, unknown> | null }[];
  [key: string]: unknown;
}

export interface EventBody {
  seq: number;
  at: string;
  type: string;
  stepId?: string;
  data: Record<string, unknown>;
}

export async function startHarness(
  options: {
    env?: Record<string, string>;
    executor?: Partial<ExecutorOptions>;
    patterns?: () => PatternSet;
    startExecutor?: boolean;
    /** Share another harness's database (a second replica); it is not dropped on close. */
    database?: TestDatabase;
    /** Where log lines go (TEST_LOG_LEVEL sets the level). */
    logDestination?: import('node:stream').Writable;
    /** How long a client has to send a whole request, in ms (the app's default otherwise). */
    requestTimeoutMs?: number;
  } = {},
): Promise<Harness> {
  const database = options.database ?? (await createTestDatabase());
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', options.logDestination);
  // Test upstreams run on 127.0.0.1, which the address policy refuses by default.
  const config = loadConfig({ HTTP_ALLOWED_HOSTS: '127.0.0.1,::1,localhost', ...options.env, DATABASE_URL: database.url });
  const db = createDatabase({ url: database.url, logger, poolSize: 10 });
  const notifier = createNotifier(database.url, logger);
  await notifier.start();
  const registry = createPatternRegistry({ db, notifier, logger });
  await registry.start();
  const frequency = createErrorFrequency({ db, logger, windowMs: config.errorWindowMs });
  await frequency.start();
  const metrics = createMetrics({ shared: sharedStateFromDatabase(db) });
  db.facts.on((facts) => metrics.recordFacts(facts));
  const app = await buildApp({ config, logger, db, metrics, isReady: async () => true, notifier, registry, frequency, requestTimeoutMs: options.requestTimeoutMs });
  const executors: Executor[] = [];
  const addExecutor = (extra: Partial<ExecutorOptions> = {}) => {
    const executor = createExecutor({
      db,
      logger,
      patterns: options.patterns ?? registry.current,
      concurrency: 32,
      leaseMs: config.leaseMs,
      notifier,
      addressPolicy: createAddressPolicy(config.httpAllowedHosts),
      pollIntervalMs: 200,
      onLag: (seconds) => metrics.executorLag.observe(seconds),
      ...options.executor,
      ...extra,
    });
    executors.push(executor);
    metrics.setInflightSource(() => executors.reduce((n, e) => n + e.inflightCount(), 0));
    executor.start();
    return executor;
  };
  const executor = options.startExecutor === false ? (undefined as unknown as Executor) : addExecutor();

  const flow = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/flows/${id}` })).json() as FlowBody;
  return {
    app,
    db,
    database,
    notifier,
    executor,
    registry,
    frequency,
    addExecutor,
    async submit(plan, o = {}) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/flows${o.waitMs !== undefined ? `?waitMs=${o.waitMs}` : ''}`,
        payload: plan as object,
        headers: o.headers ?? {},
      });
      return { statusCode: res.statusCode, body: res.json() as FlowBody };
    },
    flow,
    async relaxBreaker(url) {
      const res = await app.inject({ method: 'PUT', url: `/v1/circuits/http:${new URL(url).host}`, payload: { failureThreshold: 10_000 } });
      if (res.statusCode !== 200) throw new Error(`relaxBreaker: ${res.statusCode} ${res.body}`);
    },
    async events(id) {
      const res = await app.inject({ method: 'GET', url: `/v1/flows/${id}/events` });
      return (res.json() as { items: EventBody[] }).items;
    },
    async waitFor(id, statuses, timeoutMs = 15_000) {
      const started = Date.now();
      for (;;) {
        const body = await flow(id);
        if (statuses.includes(body.status)) return body;
        if (Date.now() - started > timeoutMs) throw new Error(`flow ${id} is ${body.status}, not ${statuses.join('/')} after ${timeoutMs} ms: ${JSON.stringify(body, null, 1)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await Promise.all(executors.map((e) => e.stop()));
      await app.close();
      registry.stop();
      await frequency.stop();
      await notifier.stop();
      await db.close();
      if (!options.database) await database.drop();
    },
  };
}

/** A harness and a scripted upstream whose breaker never opens: what most executor tests start with. */
export async function startHarnessWithUpstream(): Promise<{ h: Harness; up: Upstream }> {
  const h = await startHarness();
  const up = await startUpstream();
  await h.relaxBreaker(up.url);
  return { h, up };
}

/** Closes what startHarnessWithUpstream started: the harness first, so nothing calls the upstream after it closes. */
export async function closeHarnessWithUpstream(h: Harness, up: Upstream): Promise<void> {
  await h.close();
  await up.close();
}
