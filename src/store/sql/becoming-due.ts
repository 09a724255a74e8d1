// SQL fragments shared by the statements that make steps due (flow creation,
// the settle of successes, the bulk firing of timers): a `delay` step becoming
// due is parked on its timer at once instead of waiting for a claim, and any
// other step released to the claim loop queues in its flow's age order.

import { MAX_DELAY_MS } from '../../domain/plan-schema.js';
import { jsonInteger } from './json-numbers.js';

/**
 * `timer` (the step's current definition is a delay with a valid delayMs) and
 * `delay_ms`, for a select list over steps `alias`. A delay whose delayMs is
 * not valid is not parked: the claim path runs it and fails its attempt.
 */
export function delayOf(alias: string): string {
  const delayMs = jsonInteger(`${alias}.definition`, 'delayMs', 0, MAX_DELAY_MS, 'NULL');
  return `COALESCE(${alias}.definition->>'kind' = 'delay' AND ${delayMs} IS NOT NULL, false) AS timer, ${delayMs} AS delay_ms`;
}

/**
 * The pending steps that depend on the step in row `outer` (its flow_id and
 * step_id columns) as `d`, with delayOf's columns: a lookup by the
 * (flow_id, step_id) index for each row. As a plain join, without
 * statistics (autovacuum off) or with stale ones (a burst of new flows), the
 * planner read every row of steps for every statement instead; OFFSET 0
 * keeps it from turning the LATERAL subquery back into such a join.
 */
export function pendingDependentsOf(outer: string): string {
  return `CROSS JOIN LATERAL (
      SELECT d.id, d.flow_id, d.position, d.pending_deps, ${delayOf('d')}
        FROM steps d
       WHERE d.flow_id = ${outer}.flow_id AND ${outer}.step_id = ANY(d.depends_on) AND d.status = 'pending'
      OFFSET 0) d`;
}

/** The run_at of a delay parked now, from the `delay_ms` column of `source`. */
export function parkedRunAt(source: string): string {
  return `now() + ${source}.delay_ms * interval '1 millisecond'`;
}

/**
 * The run_at of a step released to the claim loop, for flows `alias`: its
 * flow's creation time. Claims take the oldest run_at first, so a busy
 * executor finishes the flows it started before it starts newer ones (the
 * claim measures lag from when the row became due, its updated_at).
 */
export function releasedRunAt(alias: string): string {
  return `${alias}.created_at`;
}
