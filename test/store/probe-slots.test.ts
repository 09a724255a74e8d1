// circuits.probe_slots: the migration dates the probes of breakers that are
// half-open at upgrade time so they expire as before, and a row written by a
// replica that predates the column (a rolling upgrade) reads consistently.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { lockCircuit } from '../../src/store/circuit-store.js';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const logger = createLogger('silent');
const PROBE_SLOTS_MIGRATION = '20261125040000_circuit_probe_slots';
const NEXT_PROBE = Date.parse('2030-01-01T00:00:00Z');
const databases: TestDatabase[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Half-open rows as a replica without probe_slots leaves them. */
async function insertHalfOpen(c: pg.Client) {
  await c.query(
    `INSERT INTO circuits (key, state, config, half_open_calls, next_probe_at) VALUES
       ('default', 'half_open', NULL, 2, $1), ('long', 'half_open', '{"openMs": 120000}', 1, $1), ('closed', 'closed', NULL, 0, NULL)`,
    [new Date(NEXT_PROBE)],
  );
}

describe('circuits.probe_slots', () => {
  it('the migration dates half-open probes one probe slot before next_probe_at, so they expire as before', async () => {
    const db = await createTestDatabase({ empty: true });
    databases.push(db);
    const dir = await mkdtemp(join(tmpdir(), 'rebound-probe-slots-'));
    dirs.push(dir);
    const earlier = (await readMigrations()).filter((m) => m.name < PROBE_SLOTS_MIGRATION);
    await Promise.all(earlier.map((m) => cp(join(MIGRATIONS_DIR, m.name), join(dir, m.name), { recursive: true })));
    await migrate(db.url, logger, dir);
    await withClient(db.url, insertHalfOpen);
    expect((await migrate(db.url, logger)).applied).toContain(PROBE_SLOTS_MIGRATION);
    const rows = await withClient(db.url, async (c) => (await c.query<{ key: string; slots: string[] }>('SELECT key, probe_slots AS slots FROM circuits ORDER BY key')).rows);
    expect(rows).toEqual([
      { key: 'closed', slots: [] },
      { key: 'default', slots: [String(NEXT_PROBE - 60_000), String(NEXT_PROBE - 60_000)] },
      { key: 'long', slots: [String(NEXT_PROBE - 120_000)] },
    ]);
  });

  it('a row whose half_open_calls disagrees with probe_slots (written by an older replica) reads with half_open_calls slots', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    await withClient(db.url, async (c) => {
      await insertHalfOpen(c);
      await c.query(`UPDATE circuits SET probe_slots = '{}' WHERE key = 'default'`); // it admitted two probes
      await c.query(`UPDATE circuits SET probe_slots = ARRAY[1, 2, 3]::bigint[] WHERE key = 'long'`); // two of three answered
      await c.query(`UPDATE circuits SET probe_slots = ARRAY[5]::bigint[] WHERE key = 'closed'`); // it closed the breaker
      await c.query('BEGIN');
      expect((await lockCircuit(c, 'default')).breaker).toMatchObject({ halfOpenCalls: 2, probeSlots: [NEXT_PROBE - 60_000, NEXT_PROBE - 60_000] });
      expect((await lockCircuit(c, 'long')).breaker).toMatchObject({ halfOpenCalls: 1, probeSlots: [3] });
      expect((await lockCircuit(c, 'closed')).breaker).toMatchObject({ state: 'closed', halfOpenCalls: 0, probeSlots: [] });
      await c.query('ROLLBACK');
    });
  });
});
