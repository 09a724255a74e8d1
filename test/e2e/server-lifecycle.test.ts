// The two commands a new user runs, as real processes: start with an embedded
// PostgreSQL, restart on the same data, SIGTERM, two replicas racing migrations.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../src/store/migrator.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';
import { createTestDatabase } from '../helpers/test-database.js';

const started: ServiceProcess[] = [];
afterAll(() => {
  for (const s of started) s.kill('SIGKILL');
});

async function start(env: Record<string, string | undefined>) {
  const service = await startService(env);
  started.push(service);
  return service;
}

function postgresProcessesUsing(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(dir) && /postgres/.test(line));
}

describe('service lifecycle (real processes)', () => {
  it('starts with an embedded PostgreSQL, reuses its data on restart, and exits 0 on SIGTERM without leaving postgres behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rebound-e2e-'));
    await chmod(dir, 0o755); // as root, postgres runs as the postgres user and must reach its data
    const dataDir = join(dir, 'postgres');
    try {
      const first = await start({ DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: dataDir });
      const readyMs = await first.waitReady(30_000);
      expect(readyMs).toBeLessThan(30_000);
      first.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(postgresProcessesUsing(dataDir)).toEqual([]);

      const second = await start({ DATABASE_URL: undefined, EMBEDDED_POSTGRES_DIR: dataDir });
      await second.waitReady(30_000);
      expect(second.output()).not.toContain('initialising embedded PostgreSQL');
      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(postgresProcessesUsing(dataDir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('two instances started at the same instant on a fresh database both come up; migrations are applied once', async () => {
    const database = await createTestDatabase({ empty: true });
    try {
      const [a, b] = await Promise.all([start({ DATABASE_URL: database.url }), start({ DATABASE_URL: database.url })]);
      await Promise.all([a!.waitReady(), b!.waitReady()]);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ migration_name: string; n: number }>(
        'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY migration_name',
      );
      await client.end();
      expect(rows).toHaveLength((await readMigrations()).length);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      a!.kill();
      b!.kill();
      expect(await Promise.all([a!.exited, b!.exited])).toEqual([0, 0]);
    } finally {
      await database.drop();
    }
  }, 60_000);

  it('bad configuration stops start-up with exit 1 and one line naming the variable', async () => {
    const service = await start({ DATABASE_URL: 'postgresql://127.0.0.1:1/x', PORT: 'eighty' });
    expect(await service.exited).toBe(1);
    const lines = service.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT/);
  });
});
