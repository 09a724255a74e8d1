// A Prometheus histogram for prom-client's registry whose label sets are
// bound once: observing through a bound child is a bucket search and three
// additions. prom-client's own Histogram validates and hashes the labels on
// every observe, even through a child, which was about 2 % of a request on
// the hottest route (bench/README.md, "Error analysis").
import type { Registry } from 'prom-client';

export interface HistogramChild {
  observe(value: number): void;
}

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class BoundHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, Series>();
  /** Bumped by reset(), so children bound before it start a fresh series. */
  private generation = 0;

  constructor(
    readonly options: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: Registry[] },
  ) {
    for (let i = 1; i < options.buckets.length; i++) {
      if (!(options.buckets[i]! > options.buckets[i - 1]!)) throw new Error(`${options.name}: buckets must increase`);
    }
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  get name(): string {
    return this.options.name;
  }

  get help(): string {
    return this.options.help;
  }

  /** The child for these label values, in labelNames order. Keep it: binding is the slow part. */
  labels(...values: string[]): HistogramChild {
    if (values.length !== this.options.labelNames.length) throw new Error(`${this.name}: expected ${this.options.labelNames.length} label values`);
    const key = values.join('\u0000');
    const buckets = this.options.buckets;
    const bound = () => {
      let series = this.series.get(key);
      if (!series) {
        const labels: Record<string, string> = {};
        this.options.labelNames.forEach((name, i) => (labels[name] = values[i]!));
        series = { labels, counts: new Float64Array(buckets.length + 1), sum: 0, count: 0 };
        this.series.set(key, series);
      }
      return series;
    };
    let series = bound();
    let generation = this.generation;
    return {
      observe: (value: number) => {
        if (!Number.isFinite(value)) throw new TypeError(`${this.name}: not a finite number: ${value}`);
        if (generation !== this.generation) {
          series = bound();
          generation = this.generation;
        }
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i++;
        series.counts[i]! += 1;
        series.sum += value;
        series.count += 1;
      },
    };
  }

  /** prom-client's metric object: cumulative buckets, +Inf, sum and count per label set. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.options.buckets.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le, ...series.labels }, value: cumulative, metricName: bucketName });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: bucketName });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series = new Map();
    this.generation++;
  }
}
