// One pg pool for the service, shared by raw SQL (hot paths) and the Prisma
// client (everything else, through @prisma/adapter-pg). Transient errors are
// retried here and nowhere else.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { serviceTypes } from './timestamp-parser.js';
import { createFactListeners } from './transition-facts.js';
import { retryTransient, type RetryDeps } from './transient-retry.js';

export interface DatabaseOptions {
  url: string;
  /** Maximum pooled connections. Defaults to 20. */
  poolSize?: number;
  /**
   * Connections kept open while idle (at most poolSize), opened at once by
   * openIdleConnections. Defaults to 0: every connection closes after 30 s idle.
   */
  minIdle?: number;
  logger: Logger;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface TransactionOptions {
  /**
   * The transaction's prepared statements run on their generic plans, made
   * once per connection, instead of being planned again at every execution.
   * For the executor's batch statements: left to itself, PostgreSQL keeps
   * planning each of them anew (their generic plans are estimated dearer),
   * 0.5-2.3 ms of a backend's time per execution, with no better plan to
   * show for it: they find their rows by index whatever the plan (see
   * test/store/small-table-plans.test.ts). Set with the BEGIN, in the same
   * round trip, and undone at its end.
   */
  genericPlans?: boolean;
  /**
   * No bitmap scans in the transaction, so that a statement taking the first
   * n rows of an index's order (`ORDER BY ... LIMIT n`) walks the index and
   * stops after n, instead of collecting every row that qualifies and
   * sorting them. For the bulk firing of due timers: statistics taken while
   * the timers lay in the future put a few rows behind `run_at <= now()`, so
   * the planner collected and sorted every due timer at each look (all 2,000
   * of a burst, four firings at once, to take 500 each). Set with the BEGIN.
   */
  orderedScans?: boolean;
}

/** The statements that open a transaction with `options`, sent in one round trip. */
export function beginStatement(options: TransactionOptions = {}): string {
  return [
    'BEGIN',
    ...(options.genericPlans ? ['SET LOCAL plan_cache_mode = force_generic_plan'] : []),
    ...(options.orderedScans ? ['SET LOCAL enable_bitmapscan = off'] : []),
  ].join('; ');
}

function createPrisma(pool: pg.Pool, retry: RetryDeps) {
  const base = new PrismaClient({ adapter: new PrismaPg(pool) });
  return base.$extends({
    query: {
      // Single operations are idempotent to retry when the error was transient:
      // a failed statement was rolled back by Postgres.
      async $allOperations({ args, query }) {
        return retryTransient(() => query(args), retry);
      },
    },
  });
}

export type Prisma = ReturnType<typeof createPrisma>;

export function createDatabase(options: DatabaseOptions) {
  const max = options.poolSize ?? 20;
  const minIdle = Math.min(options.minIdle ?? 0, max);
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    min: minIdle,
    application_name: options.applicationName ?? 'rebound',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    types: serviceTypes,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'idle database connection lost'));

  const retry: RetryDeps = {
    random: Math.random,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    onRetry: (error, attempt, delayMs) =>
      options.logger.warn({ err: error, attempt, delayMs }, 'transient database error; retrying'),
  };
  const prisma = createPrisma(pool, retry);

  /** One statement outside a transaction (text, or a prepared statement config), retried when transient. */
  function query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string | pg.QueryConfig, values?: unknown[]) {
    return retryTransient(() => (typeof text === 'string' ? pool.query<R>(text, values) : pool.query<R>(text)), retry);
  }

  /**
   * Runs `fn` in a transaction; the whole transaction is retried when it fails
   * transiently, so `fn` must only touch the database through `client`.
   * `txOptions`: see TransactionOptions.
   */
  function transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
    const begin = beginStatement(txOptions);
    return retryTransient(async () => {
      const client = await pool.connect();
      let broken: Error | undefined;
      // The pool stops listening for 'error' on a client it hands out: a connection lost between
      // statements (a database restart) would be an unhandled 'error' event and end the process.
      // The next statement fails (transient) and the client is destroyed on release.
      const lost = (error: Error) => (broken = error);
      client.on('error', lost);
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A client whose ROLLBACK fails has lost its connection: destroy it.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.removeListener('error', lost);
        client.release(broken);
      }
    }, retry);
  }

  /**
   * Opens the idle minimum now, so that the first load after start-up does
   * not wait for connections: each new one costs Postgres a backend start
   * and this process its connection set-up, on the hot path.
   */
  async function openIdleConnections(): Promise<void> {
    const opened = await Promise.allSettled(Array.from({ length: minIdle }, () => pool.connect()));
    for (const result of opened) if (result.status === 'fulfilled') result.value.release();
    const failed = opened.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async function close(): Promise<void> {
    await prisma.$disconnect().catch(() => undefined);
    await pool.end();
  }

  /** Committed-transition facts (for the metrics); see transition-facts.ts. */
  const facts = createFactListeners();

  return { pool, prisma, query, transaction, openIdleConnections, close, facts, url: options.url };
}

export type Database = ReturnType<typeof createDatabase>;
