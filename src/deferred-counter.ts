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

/** Tallies by first label value, then the next, ...; a leaf holds its values and count. */
interface Tally {
  values: string[];
  count: number;
}
type Level = Map<string, Level | Tally>;

export function deferredCounter<L extends string>(configuration: Omit<CounterConfiguration<L>, 'collect'>): DeferredCounter<L> {
  const labelNames = configuration.labelNames ?? [];
  let tallies: Level = new Map();
  const leaves: Tally[] = [];
  const counter = new Counter<L>({
    ...configuration,
    collect() {
      for (const { values, count } of leaves) this.labels(...values).inc(count);
      tallies = new Map();
      leaves.length = 0;
    },
  });
  return {
    counter,
    inc(...values) {
      if (values.length !== labelNames.length) throw new Error(`${configuration.name}: expected ${labelNames.length} label values`);
      // Nested maps instead of one joined key: the label values are usually
      // constants whose hashes V8 keeps, and nothing is allocated per call.
      let level = tallies;
      for (let i = 0; i < values.length - 1; i++) {
        let next = level.get(values[i]!) as Level | undefined;
        if (!next) level.set(values[i]!, (next = new Map()));
        level = next;
      }
      const last = values[values.length - 1] ?? '';
      const tally = level.get(last) as Tally | undefined;
      if (tally) tally.count++;
      else {
        const leaf = { values, count: 1 };
        level.set(last, leaf);
        leaves.push(leaf);
      }
    },
  };
}
