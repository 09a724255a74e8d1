// Successes settled set-wise (see transitions/settle-successes.ts).
//
// One statement for any number of successes: each step is settled when its
// guard still holds (the executor's lease, or for a person's answer a live
// status), and the pending steps that depend on the settled ones have their
// counters decremented by how many of their dependencies settled here. Those
// with nothing left to wait for become due; up to the flow's `slots` of
// them (ready ones first, in plan order) are claimed for `$2` at once, under
// the lease rules of CLAIM_DUE_STEPS, and come back whole so the executor can
// start them after the commit without a claim round trip. The others wait
// for a claim in their flow's age order (releasedRunAt). A ready `delay`
// step is parked on its timer at once (its delay runs from now, and it takes
// no execution slot); it comes back with `parked`. The ids of the
// settled steps come back once, comma-separated, on the first row.
import { STEP_COLUMNS } from '../step-row.js';
import { parkedRunAt, pendingDependentsOf, releasedRunAt } from './becoming-due.js';

/** $1 entries (JSON array, see SuccessEntry), $2 claiming owner (or null), $3 lease ms. */
export const SETTLE_SUCCESSES = `
WITH i AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(id uuid, flow_id uuid, step_id text, owner text, status text, output jsonb,
                                                   quality float8, attempt int, counted int, inc int, slots int, run int)
),
settled AS (
  UPDATE steps s
     SET status = i.status, output = COALESCE(i.output, 'null'::jsonb), quality = i.quality, attempt = i.attempt, counted_attempts = i.counted,
         -- A step that succeeded did not fail: its earlier attempts' errors stay in their attempts.
         error = CASE WHEN i.status = 'succeeded' THEN NULL ELSE s.error END,
         attempts_total = s.attempts_total + i.inc, finished_at = now(), run_at = NULL, due_action = NULL,
         lease_owner = NULL, lease_expires_at = NULL, task_id = NULL, correction_rerun = false,
         completion_order = CASE WHEN i.status = 'succeeded' THEN nextval('step_completion_order_seq') END,
         updated_at = now()
    FROM i
   -- By id through the primary key, even under a plan made while steps was small (see listed-ids.ts).
   WHERE s.id = ANY(ARRAY(SELECT id FROM i)) AND s.id = i.id
     AND CASE WHEN i.owner IS NULL THEN s.status IN ('running', 'waiting', 'scheduled') ELSE s.lease_owner = i.owner AND s.run = i.run END
  RETURNING s.id, s.flow_id, s.step_id, i.slots
),
dep AS (
  SELECT d.id, d.flow_id, d.position, d.pending_deps, d.timer, d.delay_ms, count(*)::int AS n, max(x.slots) AS slots
    FROM settled x ${pendingDependentsOf('x')}
   GROUP BY d.id, d.flow_id, d.position, d.pending_deps, d.timer, d.delay_ms
),
ranked AS (
  SELECT dep.id, dep.flow_id, dep.n, dep.pending_deps = dep.n AS ready, dep.timer, dep.delay_ms,
         dep.pending_deps = dep.n AND NOT dep.timer
           AND row_number() OVER (PARTITION BY dep.flow_id, dep.timer ORDER BY dep.pending_deps - dep.n, dep.position) <= dep.slots AS claim
    FROM dep
),
released AS (
  UPDATE steps s
     SET pending_deps = s.pending_deps - r.n,
         status = CASE WHEN NOT r.ready THEN s.status WHEN r.timer OR (r.claim AND s.kind <> 'task') THEN 'running' ELSE 'scheduled' END,
         due_action = CASE WHEN NOT r.ready THEN s.due_action WHEN r.timer THEN 'timer' ELSE 'attempt' END,
         run_at = CASE WHEN NOT r.ready THEN s.run_at WHEN r.timer THEN ${parkedRunAt('r')}
                       WHEN r.claim THEN now() + $3::int * interval '1 millisecond' ELSE ${releasedRunAt('f')} END,
         lease_owner = CASE WHEN r.claim THEN $2::text ELSE s.lease_owner END,
         lease_expires_at = CASE WHEN r.claim THEN now() + $3::int * interval '1 millisecond' ELSE s.lease_expires_at END,
         started_at = CASE WHEN (r.ready AND r.timer) OR (r.claim AND s.kind <> 'task') THEN COALESCE(s.started_at, now()) ELSE s.started_at END,
         updated_at = now()
    FROM ranked r JOIN flows f ON f.id = r.flow_id
   WHERE s.id = r.id AND s.status = 'pending'
  RETURNING ${STEP_COLUMNS('s')}, r.ready AS ready, r.claim AS claimed, r.ready AND r.timer AS parked, now() AS "dueAt", now() AS "claimedAt"
)
SELECT CASE WHEN row_number() OVER () = 1 THEN (SELECT string_agg(id::text, ',') FROM settled) END AS settled, r.*
  FROM (SELECT 1) one LEFT JOIN released r ON true`;
