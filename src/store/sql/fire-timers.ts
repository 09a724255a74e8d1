// Due delay steps fired in bulk, without being claimed (see timer-firing.ts).
//
// LOCK_DUE_TIMERS, inside the firing's transaction, locks the oldest plain
// parked timers that are due (index steps_due_timers_idx, walked in due
// order and left after the batch: the transaction turns bitmap scans off,
// see TransactionOptions.orderedScans) and their flows,
// both with SKIP LOCKED: firings running at once take disjoint timers, and a
// firing never waits for a lock, so it cannot deadlock with the writers that
// lock a flow first. A timer whose flow some writer holds is left for the
// next look. FIRE_TIMERS then succeeds the timers as their one attempt
// would, and in the same statement decrements the counters of their
// dependents: those with nothing left to wait for become due, for the claim
// loop, in their flow's age order (releasedRunAt); a dependent that is
// itself a delay is parked on its own timer instead.

import { parkedRunAt, pendingDependentsOf, releasedRunAt } from './becoming-due.js';

/**
 * A plain parked timer that is due, over steps: no alternative or recovery in
 * play (those take the claimed path). One text for both statements below, so
 * the cheap look and the firing agree on what is due.
 */
const PLAIN_DUE_TIMER = `run_at <= now() AND due_action = 'timer' AND lease_owner IS NULL AND status = 'running'
     AND alternative_id IS NULL AND strategy IS NULL AND NOT correction_rerun`;

/** Whether any timer LOCK_DUE_TIMERS would take is due, without a transaction or a lock. */
export const ANY_DUE_TIMER = `
SELECT EXISTS (SELECT 1 FROM steps WHERE ${PLAIN_DUE_TIMER}) AS due`;

/**
 * Plain due timers, at most $1 of them, with their flows' columns `columns`
 * (a select list of flows), a row a flow, and the flow's locked timers as
 * "timerIds".
 */
export const lockDueTimers = (columns: string) => `
WITH due AS MATERIALIZED (
  SELECT id, flow_id
    FROM steps
   WHERE ${PLAIN_DUE_TIMER}
   ORDER BY run_at
   LIMIT $1
     FOR UPDATE SKIP LOCKED),
locked AS MATERIALIZED (
  SELECT ${columns}
    FROM flows
   WHERE id = ANY(ARRAY(SELECT flow_id FROM due))
   ORDER BY id
     FOR UPDATE SKIP LOCKED)
SELECT locked.*, t.ids AS "timerIds"
  FROM locked JOIN (SELECT flow_id, array_agg(id) AS ids FROM due GROUP BY flow_id) t ON t.flow_id = locked.id
 ORDER BY locked.id`;

export const FIRE_TIMERS = `
WITH fired AS (
  UPDATE steps s
     SET status = 'succeeded', output = 'null', quality = 1, attempt = s.attempt + 1,
         counted_attempts = s.counted_attempts + 1, attempts_total = s.attempts_total + 1,
         finished_at = now(), run_at = NULL, due_action = NULL, lease_owner = NULL, lease_expires_at = NULL,
         task_id = NULL, completion_order = nextval('step_completion_order_seq'), updated_at = now()
    -- By id only, whatever the statistics say: a condition on run_at here or on s let the
    -- planner scan every due timer by steps_run_at_idx and probe the id list per row (its
    -- statistics, taken while the timers were parked in the future, put ~1 row there), and
    -- 10,000 due timers made each statement take 200+ ms. OFFSET 0 keeps due-ness out of o.
    FROM (SELECT id, run_at AS due_at FROM steps WHERE id = ANY($1::uuid[]) OFFSET 0) o
   -- IS NOT DISTINCT FROM: the same test, in a form that cannot pick steps_due_timers_idx for s
   -- (estimated at a few rows without statistics, it made s the outer side, rescanning o per timer).
   WHERE s.id = o.id AND o.due_at <= now() AND s.due_action IS NOT DISTINCT FROM 'timer' AND s.lease_owner IS NULL
     AND s.status = 'running' AND s.alternative_id IS NULL AND s.strategy IS NULL AND NOT s.correction_rerun
  RETURNING s.id, s.flow_id, s.step_id, s.position, s.attempt, s.started_at, o.due_at),
due AS (
  SELECT d.id, d.flow_id, d.timer, d.delay_ms, count(*)::int AS n
    FROM fired f ${pendingDependentsOf('f')}
   GROUP BY d.id, d.flow_id, d.timer, d.delay_ms),
released AS (
  UPDATE steps d
     SET pending_deps = d.pending_deps - due.n,
         status = CASE WHEN d.pending_deps <> due.n THEN d.status WHEN due.timer THEN 'running' ELSE 'scheduled' END,
         run_at = CASE WHEN d.pending_deps <> due.n THEN d.run_at WHEN due.timer THEN ${parkedRunAt('due')} ELSE ${releasedRunAt('fl')} END,
         due_action = CASE WHEN d.pending_deps <> due.n THEN d.due_action WHEN due.timer THEN 'timer' ELSE 'attempt' END,
         started_at = CASE WHEN d.pending_deps = due.n AND due.timer THEN COALESCE(d.started_at, now()) ELSE d.started_at END,
         updated_at = now()
    FROM due JOIN flows fl ON fl.id = due.flow_id
   WHERE d.id = due.id AND d.status = 'pending'
  RETURNING d.id, d.flow_id, d.step_id, d.attempt, d.strategy, d.alternative_id, due.delay_ms, d.status = 'running' AND due.timer AS parked)
SELECT f.id, f.flow_id AS "flowId", f.step_id AS "stepId", f.attempt, f.started_at AS "startedAt", f.due_at AS "dueAt",
       (SELECT count(*)::int FROM released) AS released,
       -- The delays parked on release whose start is news, startsRun in SQL (once, on the first row).
       CASE WHEN row_number() OVER (ORDER BY f.flow_id, f.position) = 1 THEN
         (SELECT json_agg(json_build_object('flowId', r.flow_id, 'stepId', r.step_id, 'delayMs', r.delay_ms))
            FROM released r WHERE r.parked AND r.attempt = 0 AND r.strategy IS NULL AND r.alternative_id IS NULL)
       END AS parked
  FROM fired f
 ORDER BY f.flow_id, f.position`;
