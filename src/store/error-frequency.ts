// Sliding-window error counts per pattern and per component. Counted in
// memory, flushed to Postgres in one statement at most once a second (never a
// write per request), and merged with every replica's flushed counts, so
// replicas agree within about a second and a restart keeps the counts.
//
// A merge reads only the buckets written since the last merges (each write
// takes a new `rev`), and the shared view holds at most `maxKeys` keys: the
// keys come from clients (`component`), and ever-new ones must cost neither a
// read of the whole window every second nor unbounded memory.
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
  /**
   * Distinct components the merged view holds at most (patterns are bounded by
   * the registry). Past it, a new component counts only this replica's
   * occurrences since its last flush. Defaults to 100,000.
   */
  maxKeys?: number;
}

/**
 * How far back, in ms, each merge reads revisions again. A flush takes its
 * revisions when it runs and becomes visible when it commits, so a write can
 * show up after a merge has already read a later revision; reading the last
 * few seconds' revisions again (counts are absolute, so a reread changes
 * nothing) still sees it. Flushes lock their rows in one order, so none waits
 * on another for long.
 */
const REREAD_MS = 5000;

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
  const maxKeys = options.maxKeys ?? 100_000;
  /** Every replica's written counts in the window, as of the last merge, per scope/key. */
  const shared = new Map<string, number>();
  /** The same counts by bucket start, then scope/key (the buckets that leave the window are dropped whole). */
  const sharedBuckets = new Map<number, Map<string, number>>();
  /** The highest revision read by each merge of the last REREAD_MS, oldest first, with when it was read. */
  const merged: { at: number; rev: string }[] = [];
  /** Where the next merge reads from: the highest revision read REREAD_MS ago or earlier. */
  let rereadFrom = '0';
  let components = 0;
  let keysSkipped = false;
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

  /** Drops the buckets that have left the window from the shared view. */
  function expire(windowStart: number): void {
    for (const [bucket, counts] of sharedBuckets) {
      if (bucket > windowStart) continue;
      for (const [k, n] of counts) {
        const left = (shared.get(k) ?? 0) - n;
        if (left > 0) shared.set(k, left);
        else if (shared.delete(k) && k.startsWith('component')) components--;
      }
      sharedBuckets.delete(bucket);
    }
  }

  async function merge(): Promise<number> {
    const windowStart = now() - windowMs;
    const { rows } = await options.db.query<{ scope: OccurrenceScope; key: string; bucket: number; count: number; rev: string }>(
      // Ordered by the bigint column, not by its text output.
      `SELECT o.scope, o.key, (EXTRACT(EPOCH FROM o.bucket_start) * 1000)::float8 AS bucket, o.count, o.rev::text AS rev
         FROM error_occurrences o WHERE o.rev > $1::bigint AND o.bucket_start > $2 ORDER BY o.rev`,
      [rereadFrom, new Date(windowStart)],
    );
    expire(windowStart);
    for (const row of rows) {
      if (row.bucket <= windowStart) continue;
      const k = keyOf(row.scope, row.key);
      let counts = sharedBuckets.get(row.bucket);
      const before = counts?.get(k) ?? 0;
      if (row.count === before) continue;
      const total = shared.get(k);
      if (total === undefined && row.scope === 'component') {
        if (components >= maxKeys) {
          keysSkipped = true;
          continue;
        }
        components++;
      }
      if (!counts) sharedBuckets.set(row.bucket, (counts = new Map()));
      counts.set(k, row.count);
      shared.set(k, (total ?? 0) + row.count - before);
    }
    const t = now();
    merged.push({ at: t, rev: rows.at(-1)?.rev ?? merged.at(-1)?.rev ?? rereadFrom });
    while (merged.length > 0 && merged[0]!.at <= t - REREAD_MS) rereadFrom = merged.shift()!.rev;
    if (keysSkipped) {
      keysSkipped = false;
      options.logger.warn({ maxKeys }, 'error frequency: more distinct components in the window than the merged view holds; new ones count only what this replica has not flushed yet');
    }
    return rows.length;
  }

  async function flushOnce(): Promise<void> {
    const batch = pending;
    pending = new Map();
    inFlight = new Map([...batch].map(([k, e]) => [k, e.total]));
    const rows = [...batch.values()]
      .flatMap((e) => [...e.buckets].map(([bucket, count]) => ({ scope: e.scope, key: e.key, bucket, count })))
      // One lock order for every replica's flush: two never wait on each other in a cycle.
      .sort((a, b) => (a.scope !== b.scope ? (a.scope < b.scope ? -1 : 1) : a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.bucket - b.bucket));
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
    /** Reads the other replicas' latest counts now (a flush does too); returns the bucket rows read. */
    merge,
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
