// One PostgreSQL for the whole run: the server behind TEST_DATABASE_URL, or an
// embedded instance in a temporary directory. A migrated template database is
// prepared once; every test file clones its own database from it.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/store/embedded-postgres.js';
import { migrate } from '../src/store/migrator.js';
import { databaseUrl, quoteIdent } from './helpers/database-url.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of a maintenance database on the test server. */
    databaseAdminUrl: string;
    /** Prefix of every database this run creates. */
    databasePrefix: string;
    /** A migrated database each test file clones. */
    templateDatabase: string;
  }
}

let embedded: EmbeddedPostgres | undefined;
let embeddedDir: string | undefined;
let adminUrl = '';
let prefix = '';

export async function setup(project: TestProject): Promise<void> {
  const logger = createLogger('warn');
  if (process.env.TEST_DATABASE_URL) {
    adminUrl = process.env.TEST_DATABASE_URL;
  } else {
    const dir = (embeddedDir = await mkdtemp(join(tmpdir(), 'rebound-test-pg-')));
    // When tests run as root, postgres runs as the `postgres` user and must traverse this directory.
    await chmod(dir, 0o755);
    embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), logger, ephemeral: true });
    adminUrl = embedded.adminUrl;
  }
  const base = new URL(adminUrl).pathname.slice(1) || 'postgres';
  prefix = `${base.slice(0, 20)}_t${process.pid}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const template = `${prefix}_template`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)}`);
    await admin.query(`CREATE DATABASE ${quoteIdent(template)}`);
  } finally {
    await admin.end();
  }
  await migrate(databaseUrl(adminUrl, template), logger);
  project.provide('databaseAdminUrl', adminUrl);
  project.provide('databasePrefix', prefix);
  project.provide('templateDatabase', template);
}

export async function teardown(): Promise<void> {
  if (!adminUrl) return;
  if (embedded) {
    await embedded.stop();
    if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
    return;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
