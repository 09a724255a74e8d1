// DATABASE_POOL_MIN_IDLE: the service opens its pool's idle minimum at
// start-up, so the first load does not pay for new connections.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createDatabase } from '../../src/store/database.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();

async function backendsNamed(name: string): Promise<number> {
  const { rows } = await store.db().query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [name]);
  return rows[0]!.n;
}

function poolOn(name: string, poolSize: number, minIdle?: number) {
  const url = store.db().url;
  return createDatabase({ url, poolSize, ...(minIdle === undefined ? {} : { minIdle }), applicationName: name, logger: createLogger('silent') });
}

describe('idle connections opened at start-up', () => {
  it('opens minIdle connections and keeps them in the pool', async () => {
    const name = `idle-${randomUUID().slice(0, 8)}`;
    const db = poolOn(name, 6, 3);
    try {
      expect(await backendsNamed(name)).toBe(0);
      await db.openIdleConnections();
      expect(db.pool.totalCount).toBe(3);
      expect(db.pool.idleCount).toBe(3);
      expect(await backendsNamed(name)).toBe(3);
      // A statement uses one of them rather than a new connection.
      await db.query('SELECT 1');
      expect(db.pool.totalCount).toBe(3);
    } finally {
      await db.close();
    }
  });

  it('opens no more than the pool holds, and none by default', async () => {
    const capped = `idle-${randomUUID().slice(0, 8)}`;
    const db = poolOn(capped, 2, 10);
    const none = `idle-${randomUUID().slice(0, 8)}`;
    const plain = poolOn(none, 4);
    try {
      await db.openIdleConnections();
      await plain.openIdleConnections();
      expect(await backendsNamed(capped)).toBe(2);
      expect(await backendsNamed(none)).toBe(0);
    } finally {
      await db.close();
      await plain.close();
    }
  });

  it('fails when the database cannot be reached', async () => {
    const db = createDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', minIdle: 2, logger: createLogger('silent') });
    try {
      await expect(db.openIdleConnections()).rejects.toThrow();
    } finally {
      await db.close();
    }
  });
});
