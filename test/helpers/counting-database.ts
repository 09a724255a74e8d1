// A Database whose transactions record every statement they send (the
// BEGIN/COMMIT the Database itself sends are not included): for tests that
// count what a group commit costs.
import type pg from 'pg';
import type { Database } from '../../src/store/database.js';

export function countingTransactions(db: Database): { db: Database; statements: string[] } {
  const statements: string[] = [];
  const wrap = (client: pg.PoolClient) =>
    new Proxy(client, {
      get(target, property) {
        if (property === 'query') {
          return (config: string | pg.QueryConfig, values?: unknown[]) => {
            statements.push(typeof config === 'string' ? config : config.text);
            return typeof config === 'string' ? target.query(config, values) : target.query(config);
          };
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return { db: { ...db, transaction: (fn) => db.transaction((client) => fn(wrap(client))) }, statements };
}
