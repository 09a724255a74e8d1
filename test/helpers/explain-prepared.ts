// EXPLAIN of a statement as the service runs it: prepared, then executed with
// the given arguments (inline SQL literals: EXPLAIN EXECUTE takes no bind
// parameters), on one pooled connection, optionally inside a transaction
// opened as the service opens it (beginStatement).
import type { Database } from '../../src/store/database.js';

/**
 * The plan text of `statement` prepared with parameter `types` and executed
 * with `args` (both '' for none); inside a transaction opened by `begin` and
 * rolled back, when given.
 */
export async function explainPrepared(db: Database, statement: string, types: string, args: string, begin?: string): Promise<string> {
  const client = await db.pool.connect();
  try {
    if (begin) await client.query(begin);
    await client.query(`PREPARE probe${types ? `(${types})` : ''} AS ${statement}`);
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE probe${args ? `(${args})` : ''}`);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('DEALLOCATE probe');
      if (begin) await client.query('ROLLBACK');
    }
  } finally {
    client.release();
  }
}
