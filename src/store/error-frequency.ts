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

export function createErrorFrequency(options: FrequencyOptions) {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const bucketMs = Math.max(1000, Math.floor(windowMs / 30));
  const now = options.now ?? Date.now;
  /** Counts not yet written, per scope/key/bucket. */
  let pending = new Map<string, { scope: OccurrenceScope; key: string; bucket: number; count: number }>();
  /** Unwritten counts per scope/key (this process). */
  let pendingByKey = new Map<string, number>();
  /** Counts being written right now, until the merged view includes them. */
  let inFlightByKey = new Map<string, number>();
  /** Every replica's written counts in the window, as of the last merge. */
  let shared = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  let flushing: Promise<void> | undefined;

  function bump(scope: OccurrenceScope, key: string, t: number): number {
    const bucket = Math.floor(t / bucketMs) * bucketMs;
    const id = `${scope}\u0000${key}\u0000${bucket}`;
    const entry = pending.get(id) ?? { scope, key, bucket, count: 0 };
    entry.count++;
    pending.set(id, entry);
    const k = keyOf(scope, key);
    pendingByKey.set(k, (pendingByKey.get(k) ?? 0) + 1);
    return (shared.get(k) ?? 0) + (inFlightByKey.get(k) ?? 0) + (pendingByKey.get(k) ?? 0);
  }

  async function merge(): Promise<void> {
    const { rows } = await options.db.query<{ scope: OccurrenceScope; key: string; n: number }>(
      `SELECT scope, key, sum(count)::int AS n FROM error_occurrences WHERE bucket_start > $1 GROUP BY scope, key`,
      [new Date(now() - windowMs)],
    );
    shared = new Map(rows.map((r) => [keyOf(r.scope, r.key), r.n]));
  }

  async function flushOnce(): Promise<void> {
    const batch = [...pending.values()];
    inFlightByKey = pendingByKey;
    pending = new Map();
    pendingByKey = new Map();
    try {
      if (batch.length > 0) {
        await options.db.query(
          `INSERT INTO error_occurrences (scope, key, bucket_start, count)
           SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])
           ON CONFLICT (scope, key, bucket_start) DO UPDATE SET count = error_occurrences.count + EXCLUDED.count`,
          [batch.map((b) => b.scope), batch.map((b) => b.key), batch.map((b) => new Date(b.bucket)), batch.map((b) => b.count)],
        );
      }
    } catch (error) {
      // Keep the counts for the next flush.
      for (const b of batch) {
        const id = `${b.scope}\u0000${b.key}\u0000${b.bucket}`;
        const entry = pending.get(id) ?? { ...b, count: 0 };
        entry.count += b.count;
        pending.set(id, entry);
      }
      for (const [k, n] of inFlightByKey) pendingByKey.set(k, (pendingByKey.get(k) ?? 0) + n);
      inFlightByKey = new Map();
      throw error;
    }
    await merge().finally(() => (inFlightByKey = new Map()));
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
