// parseTimestamptz must give exactly what pg's own timestamptz parser gives,
// for every text form the server sends: fractions of 0-6 digits, offsets of
// hours, minutes and seconds on both sides, and the forms it leaves to pg's
// parser (BC, infinity, years outside 100-9999, anything malformed).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../src/store/timestamp-parser.js';

const pgParser = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

function same(text: string): void {
  const ours = parseTimestamptz(text);
  const theirs = pgParser(text);
  if (theirs instanceof Date) {
    expect(ours, text).toBeInstanceOf(Date);
    expect((ours as Date).getTime(), text).toBe(theirs.getTime());
  } else {
    expect(ours, text).toEqual(theirs);
  }
}

/** A deterministic stream of pseudo-random integers. */
function lcg(seed: number) {
  let s = seed;
  return (max: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % max;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

describe('parseTimestamptz', () => {
  it('agrees with pg for generated timestamps with every fraction length and offset form', () => {
    const r = lcg(7);
    const offsets = ['+00', '-00', '+01', '-03', '+05:30', '-09:30', '+14', '-12', '+05:53:28', '-00:25:21'];
    for (let i = 0; i < 20_000; i++) {
      const date = `${pad(100 + r(9900), 4)}-${pad(1 + r(12), 2)}-${pad(1 + r(28), 2)} ${pad(r(24), 2)}:${pad(r(60), 2)}:${pad(r(60), 2)}`;
      const fractionDigits = r(7);
      const fraction = fractionDigits === 0 ? '' : `.${pad(r(10 ** fractionDigits), fractionDigits)}`;
      same(`${date}${fraction}${offsets[r(offsets.length)]}`);
    }
  });

  it('leaves every other form to pg, with the same answer', () => {
    for (const text of [
      'infinity',
      '-infinity',
      '0044-03-15 12:00:00+00 BC',
      '0099-12-31 23:59:59.999+00',
      '0001-01-01 00:00:00+00',
      '12026-01-01 00:00:00+00',
      '2026-11-26 08:35:46.+00',
      '2026-11-26 08:35:46Z',
      '2026-11-26 08:35:46',
      '2026-11-26T08:35:46+00',
      '2026-11-26 08:35:46+0',
      '2026-11-26 08:35:46+00:3',
      '2026-11-26 08:35:46+00 ',
      '2026-1a-26 08:35:46+00',
      '2026-11-26',
      '',
    ]) {
      same(text);
    }
  });
});
