// Entry point: config, database (embedded when DATABASE_URL is unset),
// migrations, app, listen, background services, graceful close.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createAddressPolicy } from './domain/address-policy.js';
import { createExecutor } from './executor/executor.js';
import { createNotifier } from './executor/notifier.js';
import { createWebhookDeliverer } from './executor/webhook-deliverer.js';
import { createLogger, type Logger } from './logger.js';
import { startTracingSdk } from './tracing.js';
import { createMetrics } from './metrics.js';
import { createDatabase } from './store/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './store/embedded-postgres.js';
import { createErrorFrequency } from './store/error-frequency.js';
import { createPatternRegistry } from './store/pattern-registry.js';
import { sharedStateFromDatabase } from './store/shared-state.js';
import { migrate, migrationsApplied, readMigrations } from './store/migrator.js';
import { retryTransient } from './store/transient-retry.js';

/** Something that runs beside the HTTP server and must stop before the database closes. */
export interface BackgroundService {
  start(): void;
  /** Stops taking work and finishes or releases what is in flight. */
  stop(): Promise<void>;
}

/** Waits for a database that is still starting (compose, restarts): up to about a minute. */
const STARTUP_RETRY = { attempts: 40, baseDelayMs: 250, maxDelayMs: 2000 };

async function openDatabase(config: Config, logger: Logger) {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.embeddedPostgresDir, logger });
    url = embedded.url;
  }
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  await retryTransient(() => migrate(url, logger), {
    random: Math.random,
    sleep,
    onRetry: (err, attempt) => logger.warn({ err, attempt }, 'database not reachable yet; retrying'),
  }, STARTUP_RETRY);
  const db = createDatabase({ url, poolSize: config.databasePoolSize, minIdle: config.databasePoolMinIdle, logger });
  await db.openIdleConnections();
  return { db, embedded };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const stopTracing = config.otlpEndpoint ? await startTracingSdk(config.otlpEndpoint) : async () => {};
  const { db, embedded } = await openDatabase(config, logger);
  const expectedMigrations = (await readMigrations()).length;
  const metrics = createMetrics({ shared: sharedStateFromDatabase(db) });
  db.facts.on((facts) => metrics.recordFacts(facts));
  const notifier = createNotifier(db.url, logger);
  await notifier.start();
  const registry = createPatternRegistry({ db, notifier, logger });
  await registry.start();
  const frequency = createErrorFrequency({ db, logger, windowMs: config.errorWindowMs });
  await frequency.start();
  const app = await buildApp({
    config,
    logger,
    db,
    metrics,
    notifier,
    registry,
    frequency,
    isReady: () => migrationsApplied((sql) => db.query(sql), expectedMigrations),
    // Before listening: no request waits for a schema to compile.
    eagerValidators: true,
  });
  const background: BackgroundService[] = [];
  const addressPolicy = createAddressPolicy(config.httpAllowedHosts);
  if (config.executorEnabled) {
    const executor = createExecutor({
      db,
      logger,
      patterns: registry.current,
      concurrency: config.executorConcurrency,
      leaseMs: config.leaseMs,
      notifier,
      addressPolicy,
      onLag: (seconds) => metrics.executorLag.observe(seconds),
    });
    metrics.setInflightSource(executor.inflightCount);
    background.push(
      executor,
      createWebhookDeliverer({ db, logger, notifier, secret: config.webhookSecret, escalationUrl: config.escalationWebhookUrl, addressPolicy }),
    );
  }

  let closing = false;
  const close = async (signal: string) => {
    if (closing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'shutting down');
    try {
      await Promise.all(background.map((s) => s.stop()));
      await app.close();
      registry.stop();
      await frequency.stop();
      await notifier.stop();
      await db.close();
      await stopTracing().catch(() => undefined);
      await embedded?.stop();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void close('SIGTERM'));
  process.on('SIGINT', () => void close('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  for (const service of background) service.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`rebound failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
