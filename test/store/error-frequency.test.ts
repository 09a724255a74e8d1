// The frequency window's merge: it reads only what changed since the last
// merges, holds a bounded number of keys, drops buckets leaving the window,
// and still sees a write that committed after a later one was merged.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { Database } from '../../src/store/database.js';
import { createErrorFrequency, type FrequencyOptions } from '../../src/store/error-frequency.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();
const logger = createLogger('silent');

/** The database, counting the occurrence rows its SELECTs return. */
function counting(db: Database): { db: Database; rowsRead: () => number } {
  let rows = 0;
  const query = (async (...args: Parameters<Database['query']>) => {
    const result = await db.query(...args);
    const text = typeof args[0] === 'string' ? args[0] : '';
    if (/^\s*SELECT[\s\S]*FROM error_occurrences/.test(text)) rows += result.rows.length;
    return result;
  }) as Database['query'];
  return { db: Object.assign(Object.create(db) as Database, { query }), rowsRead: () => rows };
}

function frequency(db: Database, extra: Partial<FrequencyOptions> = {}) {
  return createErrorFrequency({ db, logger, flushMs: 3_600_000, ...extra });
}

describe('error frequency merge', () => {
  it('reads only the buckets written since its last merges, not every key in the window', async () => {
    const writer = frequency(store.db());
    await writer.start();
    for (let i = 0; i < 2000; i++) writer.record(null, `many-${i}`);
    writer.record(null, 'many-7');
    await writer.flush();

    let t = Date.now();
    const reads = counting(store.db());
    const reader = frequency(reads.db, { now: () => t });
    await reader.start();
    expect(reads.rowsRead()).toBeGreaterThanOrEqual(2000);
    // A merge a second for 6 s: the start's rows are past the reread horizon.
    for (let i = 0; i < 6; i++) {
      t += 1000;
      await reader.merge();
    }

    writer.record(null, 'many-7');
    await writer.flush();
    const before = reads.rowsRead();
    t += 1000;
    await reader.merge();
    // The one bucket written since (before: every key in the window, 2,000+ rows, every second).
    expect(reads.rowsRead() - before).toBeLessThanOrEqual(1);
    expect(reader.record(null, 'many-7')).toEqual({ pattern: 0, component: 4 });
    expect(reader.record(null, 'many-8')).toEqual({ pattern: 0, component: 2 });
    await writer.stop();
    await reader.stop();
  });

  it('holds at most maxKeys components; the others count only what this replica has not flushed; patterns are never left out', async () => {
    // A clock far ahead leaves the other tests' buckets out of the window.
    const now = () => Date.UTC(2032, 0, 1);
    const writer = frequency(store.db(), { now });
    await writer.start();
    for (let i = 0; i < 300; i++) writer.record(null, `capped-${i}`);
    writer.record('capped-pattern', null);
    await writer.flush();
    const reader = frequency(store.db(), { now, maxKeys: 100 });
    await reader.start();
    const counts = Array.from({ length: 300 }, (_, i) => reader.record(null, `capped-${i}`).component);
    expect(counts.filter((n) => n === 2)).toHaveLength(100);
    expect(counts.filter((n) => n === 1)).toHaveLength(200);
    // Patterns are bounded by the registry: never left out.
    expect(reader.record('capped-pattern', null).pattern).toBe(2);
    await writer.stop();
    await reader.stop();
  });

  it('drops buckets that leave the window', async () => {
    let t = Date.UTC(2030, 0, 1);
    const clock = () => t;
    const writer = frequency(store.db(), { now: clock, windowMs: 60_000 });
    await writer.start();
    for (let i = 0; i < 3; i++) writer.record('expiring', null);
    await writer.flush();
    const reader = frequency(store.db(), { now: clock, windowMs: 60_000 });
    await reader.start();
    t += 30_000;
    await reader.merge();
    expect(reader.record('expiring', null).pattern).toBe(4);
    t += 31_000;
    await reader.merge();
    // The first three left the window; the fourth is not flushed yet.
    expect(reader.record('expiring', null).pattern).toBe(2);
    await writer.stop();
    await reader.stop();
  });

  it('sees a write that committed after a later write was already merged, and reads only the last seconds again', async () => {
    let t = Date.now();
    const reads = counting(store.db());
    const reader = frequency(reads.db, { now: () => t });
    await reader.start();
    // Merges a second apart: what was read more than 5 s ago is not read again.
    for (let i = 0; i < 7; i++) {
      t += 1000;
      await reader.merge();
    }
    const before = reads.rowsRead();
    t += 1000;
    await reader.merge();
    expect(reads.rowsRead() - before).toBe(0);

    const late = await store.db().pool.connect();
    try {
      await late.query('BEGIN');
      // Takes its revision now, commits later.
      await late.query(`INSERT INTO error_occurrences (scope, key, bucket_start, count) VALUES ('component', 'late', now(), 5)`);
      const writer = frequency(store.db());
      await writer.start();
      writer.record(null, 'early');
      await writer.flush();
      t += 1000;
      await reader.merge();
      expect(reader.record(null, 'early').component).toBe(2);
      await late.query('COMMIT');
      await writer.stop();
    } finally {
      late.release();
    }
    t += 1000;
    await reader.merge();
    expect(reader.record(null, 'late').component).toBe(6);
    await reader.stop();
  });

  it('takes a new revision on every update, whoever writes it (replicas that predate the column)', async () => {
    let t = Date.now();
    const reader = frequency(store.db(), { now: () => t });
    await reader.start();
    await store.db().query(`INSERT INTO error_occurrences (scope, key, bucket_start, count) VALUES ('component', 'old-writer', now(), 1)`);
    // Past the reread horizon: only a new revision brings the row back.
    for (let i = 0; i < 7; i++) {
      t += 1000;
      await reader.merge();
    }
    // What an older replica's flush sends: no rev in it.
    await store.db().query(
      `INSERT INTO error_occurrences (scope, key, bucket_start, count)
       SELECT scope, key, bucket_start, 4 FROM error_occurrences WHERE key = 'old-writer'
       ON CONFLICT (scope, key, bucket_start) DO UPDATE SET count = error_occurrences.count + EXCLUDED.count`,
    );
    t += 1000;
    await reader.merge();
    expect(reader.record(null, 'old-writer').component).toBe(6);
    await reader.stop();
  });
});
