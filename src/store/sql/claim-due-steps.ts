// Claims due executor work in one statement.
//
// The inner SELECT picks the oldest due rows (index steps_run_at_idx) and locks
// them with SKIP LOCKED, so replicas claiming at once never block on or take
// each other's rows. The UPDATE takes a lease by owner and pushes run_at to
// the lease's end: if this process dies, the row becomes due again exactly
// when the lease expires and any replica reclaims it. `due.due_at` is when the
// row became due, for the executor lag metric: its old run_at, or when it was
// last written if that is later (a released dependent waits with its flow's
// creation time as run_at, see becoming-due.ts). Flow columns come along
// so the executor needs no second query.
//
// The claimed rows are found again by `id = ANY(...)` through the primary
// key, for the reason in listed-ids.ts: with a join on due.id alone, a plan
// made while steps was small scanned every step, 160 ms a claim with 20,000.
import { STEP_COLUMNS } from '../step-row.js';

export const CLAIM_DUE_STEPS = `
WITH due AS MATERIALIZED (
  SELECT id, GREATEST(run_at, updated_at) AS due_at
    FROM steps
   WHERE run_at <= now()
   ORDER BY run_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED)
UPDATE steps s
   SET lease_owner = $1,
       lease_expires_at = now() + $3 * interval '1 millisecond',
       run_at = now() + $3 * interval '1 millisecond',
       status = CASE WHEN s.status = 'scheduled' AND s.due_action = 'attempt' AND s.kind <> 'task' THEN 'running' ELSE s.status END,
       started_at = CASE WHEN s.due_action = 'attempt' AND s.kind <> 'task' THEN COALESCE(s.started_at, now()) ELSE s.started_at END,
       updated_at = now()
  FROM due, flows f
 WHERE s.id = ANY(ARRAY(SELECT id FROM due))
   AND s.id = due.id
   AND f.id = s.flow_id
RETURNING ${STEP_COLUMNS('s')}, due.due_at AS "dueAt", now() AS "claimedAt",
          f.name AS "flowName", f.mode AS "flowMode", f.status AS "flowStatus", f.input AS "flowInput",
          f.labels AS "flowLabels", f.deadline_at AS "flowDeadlineAt", f.traceparent AS "flowTraceparent"`;
