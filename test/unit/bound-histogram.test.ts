// BoundHistogram against prom-client's own Histogram: the same observations
// give the same exposition text, line for line.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundHistogram } from '../../src/bound-histogram.js';

const buckets = [0.001, 0.01, 0.1, 1, 10];
const labelNames = ['method', 'route'] as const;

function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  const bound = new BoundHistogram({ name: 'h_seconds', help: 'help text', labelNames, buckets, registers: [ours] });
  const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames, buckets, registers: [theirs] });
  return { ours, theirs, bound, reference };
}

describe('BoundHistogram', () => {
  it('writes what prom-client writes for the same observations, bucket edges and +Inf included', async () => {
    const { ours, theirs, bound, reference } = pair();
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const sets = [['GET', '/a'], ['POST', '/b "q"'], ['GET', '/c\\d']] as const;
    const children = sets.map(([m, r]) => bound.labels(m, r));
    const values = [0, 0.001, 0.01, 0.1, 1, 10, 10.5, 1e6, ...Array.from({ length: 300 }, () => random() * 20)];
    values.forEach((v, i) => {
      const k = i % sets.length;
      children[k]!.observe(v);
      reference.observe({ method: sets[k]![0], route: sets[k]![1] }, v);
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('keeps one series per label set however many children are bound to it', async () => {
    const { ours, bound } = pair();
    bound.labels('GET', '/a').observe(0.5);
    bound.labels('GET', '/a').observe(0.5);
    expect(await ours.metrics()).toContain('h_seconds_count{method="GET",route="/a"} 2');
  });

  it('starts from zero after a reset, for children bound before it too', async () => {
    const { ours, bound } = pair();
    const child = bound.labels('GET', '/a');
    child.observe(0.5);
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('h_seconds_count');
    child.observe(2);
    const text = await ours.metrics();
    expect(text).toContain('h_seconds_count{method="GET",route="/a"} 1');
    expect(text).toContain('h_seconds_sum{method="GET",route="/a"} 2');
  });

  it('refuses a wrong number of label values, values that are not finite, and buckets out of order', () => {
    const { bound } = pair();
    expect(() => bound.labels('GET')).toThrow(/label values/);
    expect(() => bound.labels('GET', '/a').observe(Number.NaN)).toThrow(/finite/);
    expect(() => new BoundHistogram({ name: 'x', help: 'x', labelNames, buckets: [1, 1], registers: [] })).toThrow(/increase/);
  });
});
