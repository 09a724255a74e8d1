// A prom-client Counter whose increments are tallied in a Map and added to
// the counter when the registry is read (its collect hook). prom-client
// validates and hashes the labels on every inc, even through a child; on
// the hottest route that was a per-request cost for a count nobody reads
// between scrapes (bench/README.md, "Error analysis").
import { Counter, type CounterConfiguration } from 'prom-client';

export interface DeferredCounter<L extends string> {
  readonly counter: Counter<L>;
  /** Adds one for these label values, in labelNames order. */
  inc(...values: string[]): void;
}

export function deferredCounter<L extends string>(configuration: Omit<CounterConfiguration<L>, 'collect'>): DeferredCounter<L> {
  const pending = new Map<string, { values: string[]; count: number }>();
  const labelNames = configuration.labelNames ?? [];
  const counter = new Counter<L>({
    ...configuration,
    collect() {
      for (const { values, count } of pending.values()) this.labels(...values).inc(count);
      pending.clear();
    },
  });
  return {
    counter,
    inc(...values) {
      if (values.length !== labelNames.length) throw new Error(`${configuration.name}: expected ${labelNames.length} label values`);
      const key = values.join('\u0000');
      const tally = pending.get(key);
      if (tally) tally.count++;
      else pending.set(key, { values, count: 1 });
    },
  };
}
