// buildApp(deps): every plugin and route, never listens. Tests inject into it;
// src/server.ts listens.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { compiledValidatorCompiler } from './api/compiled-validator.js';
import { createCircuitService } from './api/circuits/circuit-service.js';
import { circuitRoutes } from './api/circuits/routes.js';
import { createEscalationService } from './api/escalations/escalation-service.js';
import { escalationRoutes } from './api/escalations/routes.js';
import { createAnalyzeService } from './api/errors/analyze-service.js';
import { createPatternService } from './api/errors/pattern-service.js';
import { errorRoutes } from './api/errors/routes.js';
import { createFlowService } from './api/flows/flow-service.js';
import { createFlowWaiters } from './api/flows/flow-waiters.js';
import { flowRoutes } from './api/flows/routes.js';
import { opsRoutes } from './api/ops/routes.js';
import { statsRoutes } from './api/stats/routes.js';
import './api/principal.js';
import { taskRoutes } from './api/tasks/routes.js';
import { createTaskService } from './api/tasks/task-service.js';
import { registerAuth } from './api/auth.js';
import { registerJsonParser } from './api/json-body-parser.js';
import { registerRateLimit } from './api/rate-limit.js';
import { registerProblemHandler } from './api/problem-handler.js';
import { clientErrorHandler, frameworkErrors, REQUEST_TIMEOUT_MS } from './api/framework-errors.js';
import { lazyChildLogger } from './api/lazy-request-logger.js';
import { registerRequestMetrics } from './api/request-metrics.js';
import { registerRequestTracing } from './api/request-tracing.js';
import { registerSwagger } from './api/swagger.js';
import type { Config } from './config.js';
import { createAddressPolicy } from './domain/address-policy.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Notifier } from './executor/notifier.js';
import type { Database } from './store/database.js';
import type { ErrorFrequency } from './store/error-frequency.js';
import type { PatternRegistry } from './store/pattern-registry.js';

/** Largest accepted request body, in bytes (1 MiB). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  metrics: Metrics;
  /** Resolves true when the database answers and migrations are applied. */
  isReady: () => Promise<boolean>;
  /** LISTEN/NOTIFY wake-ups (waiters, long polls); without one they poll. */
  notifier?: Notifier | undefined;
  /** The error patterns every classification uses (started by the caller). */
  registry: PatternRegistry;
  /** Analyze frequency counts (started by the caller). */
  frequency: ErrorFrequency;
  /** How long a client has to send a whole request, in ms (default REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  /** Compile every route's validator while building (the service's start-up) instead of on each route's first request. Defaults to false. */
  eagerValidators?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const requestTimeoutMs = deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: false,
    // Honour a well-formed X-Request-Id from the caller, else mint one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Circuit keys reach 300 characters, each may be percent-encoded.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    clientErrorHandler,
    requestTimeout: requestTimeoutMs,
    // Node only enforces a request timeout given at construction (with headersTimeout no
    // longer than it), and looks for expired requests every connectionsCheckingInterval.
    http: { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    // One log line per request (request-metrics.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(compiledValidatorCompiler({ eager: deps.eagerValidators ?? false }));
  // Response schemas document the API and type the handlers (the compiler
  // checks every handler's return type against them); serialising is plain
  // JSON.stringify, so no response pays for a second validation.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  registerProblemHandler(app);
  app.removeContentTypeParser('application/json');
  registerJsonParser(app);
  registerRequestMetrics(app, deps.metrics, deps.logger);
  registerRequestTracing(app);
  // Synchronous hooks: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  app.decorateRequest('principal', null);
  registerAuth(app, deps.config.apiKeys, deps.logger);
  await registerRateLimit(app, deps.config.rateLimitPerMinute);

  const waiters = createFlowWaiters({ db: deps.db, notifier: deps.notifier });
  // Long waits end before the server waits for in-flight requests to finish.
  app.addHook('preClose', async () => waiters.close());
  const flows = createFlowService({ db: deps.db, waiters, addressPolicy: createAddressPolicy(deps.config.httpAllowedHosts) });

  await registerSwagger(app);
  await app.register(opsRoutes, { isReady: deps.isReady, metrics: deps.metrics, metricsToken: deps.config.metricsToken });
  await app.register(flowRoutes, { flows });
  const tasks = createTaskService({ db: deps.db, notifier: deps.notifier, leaseMs: deps.config.leaseMs, patterns: deps.registry.current });
  app.addHook('preClose', async () => tasks.close());
  await app.register(taskRoutes, { tasks });
  await app.register(escalationRoutes, { escalations: createEscalationService({ db: deps.db }) });
  await app.register(errorRoutes, {
    analysis: createAnalyzeService({
      registry: deps.registry,
      frequency: deps.frequency,
      onClassified: (errorType, severity) => deps.metrics.errorsClassified.inc(errorType, severity),
    }),
    patterns: createPatternService({ db: deps.db }),
  });
  await app.register(circuitRoutes, { circuits: createCircuitService({ db: deps.db }) });
  await app.register(statsRoutes, { db: deps.db });
  await app.ready();
  return app;
}
