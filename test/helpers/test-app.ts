// Builds the real app on a fresh test database, with a silent logger.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createDatabase, type Database } from '../../src/store/database.js';
import { createErrorFrequency } from '../../src/store/error-frequency.js';
import { createPatternRegistry } from '../../src/store/pattern-registry.js';
import { migrationsApplied, readMigrations } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  database: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...env, DATABASE_URL: database.url });
  const logger = createLogger('silent');
  const db = createDatabase({ url: database.url, logger, poolSize: 5 });
  const expected = (await readMigrations()).length;
  const app = await buildApp({
    config,
    logger,
    db,
    metrics: createMetrics(),
    isReady: () => migrationsApplied((sql) => db.query(sql), expected),
    registry: createPatternRegistry({ db, logger }),
    frequency: createErrorFrequency({ db, logger }),
  });
  return {
    app,
    db,
    database,
    config,
    async close() {
      await app.close();
      await db.close();
      await database.drop();
    },
  };
}
