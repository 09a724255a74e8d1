// Produces the OpenAPI document from the app's routes without a database
// connection (the pool connects lazily and is never used here).
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createDatabase } from './store/database.js';
import { createErrorFrequency } from './store/error-frequency.js';
import { createPatternRegistry } from './store/pattern-registry.js';

export async function generateOpenApiDocument(): Promise<unknown> {
  const logger = createLogger('silent');
  const db = createDatabase({ url: 'postgresql://openapi@127.0.0.1:1/unused', logger });
  const app = await buildApp({
    config: loadConfig({}),
    logger,
    db,
    metrics: createMetrics(),
    isReady: async () => false,
    registry: createPatternRegistry({ db, logger }),
    frequency: createErrorFrequency({ db, logger }),
  });
  try {
    return app.swagger();
  } finally {
    await app.close();
    await db.close();
  }
}

/** The committed form: two-space JSON with a trailing newline. */
export function serializeOpenApiDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
