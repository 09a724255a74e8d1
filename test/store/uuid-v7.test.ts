import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/store/uuid-v7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp an id carries. */
const msOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('makes RFC 9562 version 7 ids carrying the current millisecond', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  it('is strictly increasing and unique across many ids made in the same milliseconds (and across pool refills)', () => {
    const ids = Array.from({ length: 50_000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 500)) expect(id).toMatch(V7);
  });

  it('keeps increasing when the clock goes backwards', () => {
    const a = uuidv7(Date.now() + 60_000);
    const b = uuidv7(Date.now());
    expect(b > a).toBe(true);
    expect(msOf(b)).toBe(msOf(a));
  });

  it('carries the given millisecond exactly, including timestamps past 2^32', () => {
    const ms = 0xfedcba987654; // the largest 48-bit range, far in the future
    const id = uuidv7(ms);
    expect(id).toMatch(V7);
    expect(msOf(id)).toBe(ms);
  });

  it('spreads the random tail (no two ids of one millisecond share it)', () => {
    const tails = new Set(Array.from({ length: 2000 }, () => uuidv7().slice(-10)));
    expect(tails.size).toBe(2000);
  });
});
