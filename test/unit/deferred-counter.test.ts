// deferredCounter: counts tallied between scrapes reach the exposition text
// exactly as prom-client's own Counter would write them.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { deferredCounter } from '../../src/deferred-counter.js';

describe('deferredCounter', () => {
  it('writes what an immediately incremented Counter writes, across several scrapes', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const deferred = deferredCounter({ name: 'c_total', help: 'help', labelNames: ['type', 'severity'] as const, registers: [ours] });
    const reference = new Counter({ name: 'c_total', help: 'help', labelNames: ['type', 'severity'] as const, registers: [theirs] });
    const seen = [['timeout', 'low'], ['network', 'high'], ['timeout', 'low'], ['a"b', 'c\\d']] as const;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10 + round; i++) {
        const [type, severity] = seen[(i * 7 + round) % seen.length]!;
        deferred.inc(type, severity);
        reference.inc({ type, severity });
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
    }
  });

  it('refuses a wrong number of label values', () => {
    const deferred = deferredCounter({ name: 'c_total', help: 'help', labelNames: ['type'] as const, registers: [] });
    expect(() => deferred.inc('a', 'b')).toThrow(/label values/);
  });
});
