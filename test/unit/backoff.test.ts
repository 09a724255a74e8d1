import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fibonacci, nextBackoffDelay, parseRetryAfter, rawBackoffDelay } from '../../src/domain/backoff.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../src/domain/plan.js';

/** Deterministic PRNG in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns the given values in order, then fails loudly. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('random source exhausted');
    return values[i++]!;
  };
}

const noRandom = (): number => {
  throw new Error('this path must not draw a random number');
};

function policy(over: Partial<RetryPolicy>): RetryPolicy {
  return { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000_000, multiplier: 2, jitter: 'none', ...over };
}

function delays(p: RetryPolicy, count: number, random: () => number = noRandom): number[] {
  const out: number[] = [];
  let previous: number | undefined;
  for (let n = 1; n <= count; n++) {
    const r = nextBackoffDelay(p, n, previous, random);
    out.push(r.delayMs);
    previous = r.previousDelayMs;
  }
  return out;
}

describe('fibonacci', () => {
  it('is 1, 2, 3, 5, 8, 13 from n = 1', () => {
    expect([1, 2, 3, 4, 5, 6].map(fibonacci)).toEqual([1, 2, 3, 5, 8, 13]);
  });
});

describe('backoff kinds with jitter none (exact values)', () => {
  it('constant is b for every retry', () => {
    expect(delays(policy({ backoff: 'constant' }), 4)).toEqual([100, 100, 100, 100]);
  });

  it('linear is b * n', () => {
    expect(delays(policy({ backoff: 'linear' }), 4)).toEqual([100, 200, 300, 400]);
  });

  it('exponential is b * m^(n-1)', () => {
    expect(delays(policy({ backoff: 'exponential', multiplier: 3 }), 4)).toEqual([100, 300, 900, 2700]);
  });

  it('exponential floors fractional results', () => {
    expect(delays(policy({ backoff: 'exponential', baseDelayMs: 10, multiplier: 1.5 }), 3)).toEqual([10, 15, 22]);
  });

  it('fibonacci is b * F(n)', () => {
    expect(delays(policy({ backoff: 'fibonacci' }), 6)).toEqual([100, 200, 300, 500, 800, 1300]);
  });

  it('the DESIGN defaults (exponential, 1000 ms, x2, 10000 ms cap) without jitter', () => {
    expect(delays({ ...DEFAULT_RETRY, jitter: 'none' }, 6)).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it('caps every kind at maxDelayMs', () => {
    expect(delays(policy({ backoff: 'exponential', maxDelayMs: 500 }), 5)).toEqual([100, 200, 400, 500, 500]);
    expect(delays(policy({ backoff: 'linear', maxDelayMs: 250 }), 4)).toEqual([100, 200, 250, 250]);
    expect(delays(policy({ backoff: 'fibonacci', maxDelayMs: 450 }), 5)).toEqual([100, 200, 300, 450, 450]);
    expect(delays(policy({ backoff: 'constant', baseDelayMs: 900, maxDelayMs: 300 }), 2)).toEqual([300, 300]);
  });

  it('rawBackoffDelay does not jitter', () => {
    expect(rawBackoffDelay(policy({ backoff: 'exponential', jitter: 'full' }), 3, undefined, noRandom)).toBe(400);
  });
});

describe('decorrelated backoff: min(cap, U(b, 3 * previous))', () => {
  it('starts from previous = b and feeds its own result back', () => {
    const p = policy({ backoff: 'decorrelated', baseDelayMs: 100, maxDelayMs: 10_000 });
    // U(100, 300) at 0.5 = 200; U(100, 600) at 0.5 = 350; U(100, 1050) at 0 = 100.
    expect(delays(p, 3, sequence(0.5, 0.5, 0))).toEqual([200, 350, 100]);
  });

  it('is capped by maxDelayMs and takes no extra jitter', () => {
    const p = policy({ backoff: 'decorrelated', jitter: 'full', baseDelayMs: 100, maxDelayMs: 250 });
    const r = nextBackoffDelay(p, 1, 1000, sequence(0.99));
    expect(r).toEqual({ delayMs: 250, previousDelayMs: 250 });
  });
});

describe('jitter', () => {
  const exp = (jitter: RetryPolicy['jitter']) => policy({ backoff: 'exponential', baseDelayMs: 1000, jitter });

  it('full is U(0, d)', () => {
    expect(nextBackoffDelay(exp('full'), 1, undefined, sequence(0)).delayMs).toBe(0);
    expect(nextBackoffDelay(exp('full'), 1, undefined, sequence(0.5)).delayMs).toBe(500);
    expect(nextBackoffDelay(exp('full'), 2, undefined, sequence(0.25)).delayMs).toBe(500);
    expect(nextBackoffDelay(exp('full'), 1, undefined, sequence(0.999999)).delayMs).toBe(999);
  });

  it('equal is d/2 + U(0, d/2)', () => {
    expect(nextBackoffDelay(exp('equal'), 1, undefined, sequence(0)).delayMs).toBe(500);
    expect(nextBackoffDelay(exp('equal'), 1, undefined, sequence(0.5)).delayMs).toBe(750);
    expect(nextBackoffDelay(exp('equal'), 3, undefined, sequence(0.5)).delayMs).toBe(3000);
  });

  it('decorrelated jitter follows the decorrelated formula from the previous delay', () => {
    expect(nextBackoffDelay(exp('decorrelated'), 1, undefined, sequence(0.5)).delayMs).toBe(2000);
    const r = nextBackoffDelay(exp('decorrelated'), 2, 2000, sequence(0.5));
    expect(r).toEqual({ delayMs: 3500, previousDelayMs: 3500 });
  });

  it('never exceeds maxDelayMs after jitter', () => {
    const p = { ...exp('decorrelated'), maxDelayMs: 1200 };
    expect(nextBackoffDelay(p, 1, 5000, sequence(0.9)).delayMs).toBe(1200);
    expect(nextBackoffDelay({ ...exp('equal'), maxDelayMs: 1200 }, 5, undefined, sequence(0.999)).delayMs).toBeLessThanOrEqual(1200);
  });

  it('is reproducible with the same seed', () => {
    const p = policy({ backoff: 'fibonacci', jitter: 'full' });
    expect(delays(p, 10, mulberry32(42))).toEqual(delays(p, 10, mulberry32(42)));
    expect(delays(p, 10, mulberry32(42))).not.toEqual(delays(p, 10, mulberry32(43)));
  });
});

describe('property: delays are integers in [0, maxDelayMs]', () => {
  const policyArb: fc.Arbitrary<RetryPolicy> = fc.record({
    maxAttempts: fc.integer({ min: 1, max: 100 }),
    backoff: fc.constantFrom('constant', 'linear', 'exponential', 'fibonacci', 'decorrelated'),
    baseDelayMs: fc.integer({ min: 0, max: 86_400_000 }),
    maxDelayMs: fc.integer({ min: 0, max: 7 * 86_400_000 }),
    multiplier: fc.double({ min: 1, max: 100, noNaN: true }),
    jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated'),
    retryOn: fc.constant(undefined),
    respectRetryAfter: fc.boolean(),
  });

  it('holds for arbitrary policies, retry numbers and random sources', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 50 }), fc.integer(), (p, count, seed) => {
        const random = mulberry32(seed);
        let previous: number | undefined;
        for (let n = 1; n <= count; n++) {
          const r = nextBackoffDelay(p, n, previous, random);
          expect(Number.isInteger(r.delayMs)).toBe(true);
          expect(r.delayMs).toBeGreaterThanOrEqual(0);
          expect(r.delayMs).toBeLessThanOrEqual(p.maxDelayMs);
          previous = r.previousDelayMs;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds for a single retry number with an adversarial random value', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 50 }),
        fc.option(fc.integer({ min: 0, max: 7 * 86_400_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (p, n, previous, value) => {
          const { delayMs } = nextBackoffDelay(p, n, previous, () => value);
          return Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= p.maxDelayMs;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-03-01T12:00:00Z');

  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
  });

  it('caps delta-seconds at 7 days', () => {
    expect(parseRetryAfter('99999999999', now)).toBe(7 * 86_400_000);
  });

  it('reads a future HTTP date relative to the injected now', () => {
    expect(parseRetryAfter('Fri, 01 Mar 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Fri, 01 Mar 2024 12:00:30 GMT', now - 5000)).toBe(35_000);
  });

  it('gives 0 for an HTTP date in the past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });

  it('is undefined when absent or unparseable', () => {
    for (const value of [undefined, '', '   ', 'soon', '-5', '1.5', '12abc', 'NaN']) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });

  // V8's lenient Date.parse accepts garbage such as "soon 1" (-> 2001-01-01);
  // only the three HTTP-date forms are accepted.
  it('rejects garbage that only V8 Date.parse accepts ("soon 1")', () => {
    expect(parseRetryAfter('soon 1', 0)).toBeUndefined();
    expect(parseRetryAfter('abc 2024', 0)).toBeUndefined();
  });

  it('accepts the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfter('Friday, 01-Mar-24 12:00:05 GMT', Date.parse('2024-03-01T12:00:00Z'))).toBe(5000);
    expect(parseRetryAfter('Fri Mar  1 12:00:05 2024', Date.parse('2024-03-01T12:00:00Z'))).toBe(5000);
  });

  // Delta-seconds and HTTP dates are both capped at 7 days.
  it('caps an HTTP date as it caps delta-seconds (7 days)', () => {
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBeLessThanOrEqual(7 * 86_400_000);
  });
});
