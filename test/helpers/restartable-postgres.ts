// A throwaway PostgreSQL cluster a test can stop and start again on the same
// data directory and port, to take the database away from a running service.
// Never the machine's shared server: its own temporary directory and a free
// port, both released by dispose().
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { freePort } from './service-process.js';

export interface RestartablePostgres {
  /** Connection string of the test database; the same across restarts. */
  url: string;
  port: number;
  /** Fast shutdown (SIGINT): sessions are terminated, new connections refused. */
  stop(): Promise<void>;
  /** Starts the stopped cluster again on the same data directory and port. */
  start(): Promise<void>;
  /** Stops the cluster if it runs and deletes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'rebound-restart-pg-'));
  // When tests run as root, postgres runs as the `postgres` user and must traverse this directory.
  await chmod(dir, 0o755);
  const port = await freePort();
  // startEmbeddedPostgres keeps embedded-postgres's process-wide exit hooks out and stops the postmaster if this process dies.
  const boot = () => startEmbeddedPostgres({ dataDir: join(dir, 'data'), logger: createLogger('error'), port, database: 'rebound_restart' });
  let running: EmbeddedPostgres | undefined;
  try {
    running = await boot();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const url = running.url;

  return {
    url,
    port,
    async stop() {
      const cluster = running;
      running = undefined;
      await cluster?.stop();
    },
    async start() {
      if (running) throw new Error('the cluster is already running');
      running = await boot();
    },
    async dispose() {
      const cluster = running;
      running = undefined;
      await cluster?.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
