// A fresh database for a benchmark run: on the server of BENCH_DATABASE_URL
// (or DATABASE_URL) when set, else on an embedded PostgreSQL in a temp dir.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';

export interface BenchDatabase {
  url: string;
  adminUrl: string;
  /** Describes where it runs, for the results table. */
  where: string;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const server = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  let adminUrl: string;
  let stop = async () => {};
  let where: string;
  if (server) {
    adminUrl = server;
    where = `PostgreSQL at ${new URL(server).host}`;
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'rebound-bench-pg-'));
    await chmod(dir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), logger: createLogger('warn'), ephemeral: true });
    adminUrl = embedded.adminUrl;
    stop = async () => {
      await embedded.stop();
      // The ephemeral cluster removes its data directory; its parent is ours.
      await rm(dir, { recursive: true, force: true });
    };
    where = 'embedded PostgreSQL (embedded-postgres)';
  }
  const name = `rebound_bench_${label}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  // Diagnostics, in the server's log: every statement's duration, or the plans of those slower than BENCH_AUTO_EXPLAIN.
  if (process.env.BENCH_LOG_STATEMENTS) await admin.query(`ALTER DATABASE "${name}" SET log_min_duration_statement = 0`);
  if (process.env.BENCH_AUTO_EXPLAIN) {
    if (!/^\d+(ms|s)?$/.test(process.env.BENCH_AUTO_EXPLAIN)) throw new Error('BENCH_AUTO_EXPLAIN is a duration such as 10ms');
    await admin.query(`ALTER DATABASE "${name}" SET session_preload_libraries = 'auto_explain'`);
    await admin.query(`ALTER DATABASE "${name}" SET auto_explain.log_min_duration = '${process.env.BENCH_AUTO_EXPLAIN}'`);
    await admin.query(`ALTER DATABASE "${name}" SET auto_explain.log_analyze = on`);
    await admin.query(`ALTER DATABASE "${name}" SET auto_explain.log_buffers = on`);
    await admin.query(`ALTER DATABASE "${name}" SET auto_explain.log_wal = on`);
  }
  await admin.end();
  const version = await (async () => {
    const c = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
    await c.connect();
    const { rows } = await c.query<{ v: string }>('SELECT current_setting(\'server_version\') AS v');
    await c.end();
    return rows[0]!.v;
  })();
  return {
    url: withDatabase(adminUrl, name),
    adminUrl,
    where: `${where}, server ${version}`,
    async close() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
      await stop();
    },
  };
}
