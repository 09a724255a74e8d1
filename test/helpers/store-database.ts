// A migrated test database with the service's Database on it, for store
// tests: created before the file's tests, closed and dropped after them.
import { afterAll, beforeAll } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createDatabase, type Database } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** Registers the set-up and tear-down; `db()` is usable inside tests. */
export function useStoreDatabase(): { db: () => Database } {
  let testDb: TestDatabase | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });
  return {
    db: () => {
      if (!db) throw new Error('the store database is only available inside tests');
      return db;
    },
  };
}
