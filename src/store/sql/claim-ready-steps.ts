// The executor's fast path: in the transaction that made a flow's next steps
// due, claim them for this process at once, so a sequential flow moves from
// step to step without a separate claim transaction or a round of polling.
// Same lease rules as CLAIM_DUE_STEPS.
import { STEP_COLUMNS } from '../step-row.js';

export const CLAIM_READY_STEPS = `
UPDATE steps s
   SET lease_owner = $3,
       lease_expires_at = now() + $4 * interval '1 millisecond',
       run_at = now() + $4 * interval '1 millisecond',
       status = CASE WHEN s.kind <> 'task' THEN 'running' ELSE s.status END,
       started_at = CASE WHEN s.kind <> 'task' THEN COALESCE(s.started_at, now()) ELSE s.started_at END,
       updated_at = now()
 WHERE s.flow_id = $1 AND s.step_id = ANY($2::text[]) AND s.status = 'scheduled' AND s.due_action = 'attempt'
RETURNING ${STEP_COLUMNS('s')}, now() AS "dueAt", now() AS "claimedAt"`;
