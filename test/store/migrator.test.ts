import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const logger = createLogger('silent');
const databases: TestDatabase[] = [];

async function emptyDatabase() {
  const db = await createTestDatabase({ empty: true });
  databases.push(db);
  return db;
}

async function rows<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((d) => d.drop()));
});

describe('migrate', () => {
  it('applies every migration to an empty database and records it as Prisma does', async () => {
    const db = await emptyDatabase();
    const onDisk = await readMigrations();
    const result = await migrate(db.url, logger);
    expect(result.applied).toEqual(onDisk.map((m) => m.name));

    const recorded = await rows<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      db.url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    for (const [i, migration] of onDisk.entries()) {
      const bytes = await readFile(join(MIGRATIONS_DIR, migration.name, 'migration.sql'));
      expect(recorded[i]).toMatchObject({
        migration_name: migration.name,
        checksum: createHash('sha256').update(bytes).digest('hex'),
        applied_steps_count: 1,
      });
      expect(recorded[i]!.finished_at).toBeInstanceOf(Date);
    }
  });

  it('is a no-op the second time', async () => {
    const db = await emptyDatabase();
    await migrate(db.url, logger);
    const again = await migrate(db.url, logger);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThan(0);
  });

  it('applies once when many replicas migrate at the same instant', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all(Array.from({ length: 4 }, () => migrate(db.url, logger)));
    const appliedBy = results.filter((r) => r.applied.length > 0);
    expect(appliedBy).toHaveLength(1);
    const count = await rows<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(count[0]!.n).toBe((await readMigrations()).length);
  });

  it('records a failed migration, rolls its changes back and refuses to continue past it', async () => {
    const db = await emptyDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'rebound-migrations-'));
    await mkdir(join(dir, '20990101000000_ok'));
    await writeFile(join(dir, '20990101000000_ok', 'migration.sql'), 'CREATE TABLE ok_table (id int);');
    await mkdir(join(dir, '20990102000000_broken'));
    await writeFile(join(dir, '20990102000000_broken', 'migration.sql'), 'CREATE TABLE half (id int); SELECT * FROM missing_table;');

    await expect(migrate(db.url, logger, dir)).rejects.toBeInstanceOf(MigrationError);
    const recorded = await rows<{ migration_name: string; finished_at: Date | null; logs: string | null }>(
      db.url,
      'SELECT migration_name, finished_at, logs FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(recorded.map((r) => [r.migration_name, r.finished_at !== null])).toEqual([
      ['20990101000000_ok', true],
      ['20990102000000_broken', false],
    ]);
    expect(recorded[1]!.logs).toContain('missing_table');
    const half = await rows<{ t: string | null }>(db.url, "SELECT to_regclass('half')::text AS t");
    expect(half[0]!.t).toBeNull();
    await expect(migrate(db.url, logger, dir)).rejects.toThrow(/failed earlier/);
    await rm(dir, { recursive: true, force: true });
  });
});
