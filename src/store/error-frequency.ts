// Sliding-window error counts per pattern and per component. Counted in
// memory, flushed to Postgres in one statement at most once a second (never a
// write per request), and merged with every replica's flushed counts, so
// replicas agree within about a second and a restart keeps the counts.
import type { Logger } from '../logger.js';
import type { Database } from './database.js';

export type OccurrenceScope = 'pattern' | 'component';

export interface Occurrences {
  pattern: number;
  component: number;
}

export interface FrequencyOptions {
  db: Database;
  logger: Logger;
  /** Window length, in ms. Defaults to 5 minutes. */
  windowMs?: number;
  /** Flush and merge period, in ms. Defaults to 1000. */
  flushMs?: number;
  now?: () => number;
}

const keyOf = (scope: OccurrenceScope, key: string) => `${scope}\u0000${key}`;

interface PendingCounts {
  scope: OccurrenceScope;
  key: string;
  /** Unwritten occurrences, all buckets together. */
  total: number;
  buckets: Map<number, number>;
}

export function createErrorFrequency(options: FrequencyOptions) {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const bucketMs = Math.max(1000, Math.floor(windowMs / 30));
  const now = options.now ?? Date.now;
  /** Counts not yet written, per scope/key, by bucket start. */
  let pending = new Map<string, PendingCounts>();
  /** Counts being written right now, until the merged view includes them. */
  let inFlight = new Map<string, number>();
  /** Every replica's written counts in the window, as of the last merge. */
  let shared = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  let flushing: Promise<void> | undefined;

  function bump(scope: OccurrenceScope, key: string, t: number): number {
    const k = keyOf(scope, key);
    let entry = pending.get(k);
    if (!entry) {
      entry = { scope, key, total: 0, buckets: new Map() };
      pending.set(k, entry);
    }
    const bucket = t - (t % bucketMs);
    entry.buckets.set(bucket, (entry.buckets.get(bucket) ?? 0) + 1);
    entry.total++;
    return (shared.get(k) ?? 0) + (inFlight.get(k) ?? 0) + entry.total;
  }

  async function merge(): Promise<void> {
    const { rows } = await options.db.query<{ scope: OccurrenceScope; key: string; n: number }>(
      `SELECT scope, key, sum(count)::int AS n FROM error_occurrences WHERE bucket_start > $1 GROUP BY scope, key`,
      [new Date(now() - windowMs)],
    );
    shared = new Map(rows.map((r) => [keyOf(r.scope, r.key), r.n]));
  }

  async function flushOnce(): Promise<void> {
    const batch = pending;
    pending = new Map();
    inFlight = new Map([...batch].map(([k, e]) => [k, e.total]));
    const rows = [...batch.values()].flatMap((e) => [...e.buckets].map(([bucket, count]) => ({ scope: e.scope, key: e.key, bucket, count })));
    try {
      if (rows.length > 0) {
        await options.db.query(
          `INSERT INTO error_occurrences (scope, key, bucket_start, count)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])
           ON CONFLICT (scope, key, bucket_start) DO UPDATE SET count = error_occurrences.count + EXCLUDED.count`,
          [rows.map((r) => r.scope), rows.map((r) => r.key), rows.map((r) => new Date(r.bucket)), rows.map((r) => r.count)],
        );
      }
    } catch (error) {
      // Keep the counts for the next flush.
      for (const [k, e] of batch) {
        const current = pending.get(k);
        if (!current) {
          pending.set(k, e);
          continue;
        }
        for (const [bucket, count] of e.buckets) current.buckets.set(bucket, (current.buckets.get(bucket) ?? 0) + count);
        current.total += e.total;
      }
      inFlight = new Map();
      throw error;
    }
    await merge().finally(() => (inFlight = new Map()));
    if (now() - lastPrune > 60_000) {
      lastPrune = now();
      await options.db.query('DELETE FROM error_occurrences WHERE bucket_start < $1', [new Date(now() - windowMs - bucketMs)]);
    }
  }

  function flush(): Promise<void> {
    flushing ??= flushOnce().finally(() => (flushing = undefined));
    return flushing;
  }

  return {
    windowMs,
    /** Counts one error; returns both counts in the window, this one included (0 for an absent key). */
    record(patternId: string | null, component: string | null): Occurrences {
      const t = now();
      return {
        pattern: patternId ? bump('pattern', patternId, t) : 0,
        component: component ? bump('component', component, t) : 0,
      };
    },
    flush,
    async start(): Promise<void> {
      await merge();
      timer = setInterval(() => void flush().catch((error: unknown) => options.logger.warn({ err: error }, 'error frequency flush failed')), options.flushMs ?? 1000);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await flush().catch((error: unknown) => options.logger.warn({ err: error }, 'final error frequency flush failed'));
    },
  };
}

export type ErrorFrequency = ReturnType<typeof createErrorFrequency>;
