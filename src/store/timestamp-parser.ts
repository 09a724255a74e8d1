// timestamptz values as node-postgres hands them to the service's raw SQL:
// the server's text form ('2026-11-26 08:35:46.123456+00', any offset) read
// with fixed-position digit arithmetic instead of pg's regex-based parser
// (postgres-date), which cost about 1 % of the executor's time (a claimed
// step row carries five timestamps). Anything else (BC dates, infinity,
// years before 100 or after 9999) goes to pg's own parser, and the result is
// always the one it gives (test/unit/timestamp-parser.test.ts).
import pg from 'pg';

const TIMESTAMPTZ_OID = 1184;
const pgParser = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | number | null;

const ZERO = 48;

/** The number in text[at..at+len), or -1 unless every character there is a digit. */
function digits(text: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const d = text.charCodeAt(i) - ZERO;
    // NaN past the end fails too.
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

export function parseTimestamptz(text: string): Date | number | null {
  const n = text.length;
  if (n < 22 || n > 35 || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ' || text[13] !== ':' || text[16] !== ':') return pgParser(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return pgParser(text);
  let i = 19;
  let ms = 0;
  if (text[i] === '.') {
    i++;
    const start = i;
    while (i < n && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= ZERO + 9) i++;
    const count = i - start;
    if (count === 0) return pgParser(text);
    // Microseconds truncated to milliseconds, as pg's parser does.
    ms = digits(text, start, Math.min(count, 3)) * (count === 1 ? 100 : count === 2 ? 10 : 1);
  }
  const sign = text[i] === '+' ? 1 : text[i] === '-' ? -1 : 0;
  if (sign === 0) return pgParser(text);
  const offsetHours = digits(text, i + 1, 2);
  i += 3;
  let offsetMinutes = 0;
  let offsetSeconds = 0;
  if (i < n) {
    if (text[i] !== ':') return pgParser(text);
    offsetMinutes = digits(text, i + 1, 2);
    i += 3;
    if (i < n) {
      if (text[i] !== ':') return pgParser(text);
      offsetSeconds = digits(text, i + 1, 2);
      i += 3;
    }
  }
  if (i !== n || offsetHours < 0 || offsetMinutes < 0 || offsetSeconds < 0) return pgParser(text);
  const offsetMs = sign * (offsetHours * 3600 + offsetMinutes * 60 + offsetSeconds) * 1000;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMs);
}

/** pg's type parsers, with timestamptz (text format) read by parseTimestamptz. */
export const serviceTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
