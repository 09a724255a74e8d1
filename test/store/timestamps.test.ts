// The service's pool reads timestamptz with parseTimestamptz: the values a
// real server sends, in time zones with half-hour, 45-minute and (before
// 1900) second offsets, must come out as pg's own parser reads them.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useStoreDatabase } from '../helpers/store-database.js';

const store = useStoreDatabase();
const pgParser = pg.types.getTypeParser(1184, 'text') as (text: string) => Date;

describe('timestamps from the server', () => {
  it('reads every timestamptz as pg would, whatever the session time zone', async () => {
    const client = await store.db().pool.connect();
    try {
      for (const zone of ['UTC', 'Asia/Kathmandu', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Kiritimati']) {
        await client.query(`SET TimeZone = '${zone}'`);
        const { rows } = await client.query<{ t: Date; text: string }>(
          `SELECT t, t::text AS text FROM generate_series(timestamptz '1890-01-01 00:00:00.123456+00', timestamptz '2100-01-01', interval '997 days 3 hours 7 minutes 11.654321 seconds') AS t`,
        );
        expect(rows.length).toBeGreaterThan(70);
        for (const row of rows) expect(row.t.getTime(), `${zone} ${row.text}`).toBe(pgParser(row.text).getTime());
      }
    } finally {
      await client.query('RESET TimeZone');
      client.release();
    }
  });
});
