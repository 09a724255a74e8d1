// Hands offered tasks to a polling worker in one statement.
//
// Offered tasks wait with due_action = 'task_wait' and no run_at (the
// executor ignores them). SKIP LOCKED lets many workers poll at once. Each
// claim gets a fresh task id that is also the lease owner, so a late answer
// for an earlier claim can never match. run_at is set to the lease end (or the
// attempt's timeout, whichever is first): if the worker goes quiet, the
// executor claims the row then and records a timeout. A task of a flow past
// its deadline is not handed out (its compensations still are): the flow
// ends instead (deadline-sweeper.ts); the check is one flows primary-key probe
// per candidate row.
import { DEFAULT_TIMEOUT_MS } from '../../domain/plan.js';
import { MAX_TIMEOUT_MS } from '../../domain/plan-schema.js';
import { jsonInteger } from './json-numbers.js';

/** An attempt's timeout from a stored definition, in ms (the default when absent or not valid). */
const timeoutOf = (json: string) => jsonInteger(json, 'timeoutMs', 1, MAX_TIMEOUT_MS, String(DEFAULT_TIMEOUT_MS));

export const CLAIM_TASKS = `
WITH c AS (
  SELECT id, gen_random_uuid() AS tid
    FROM steps
   WHERE due_action = 'task_wait' AND task_type = ANY($2::text[])
     AND (compensation_status = 'running'
          OR NOT EXISTS (SELECT 1 FROM flows f WHERE f.id = steps.flow_id AND f.deadline_at <= now()))
   ORDER BY updated_at
   LIMIT $3
     FOR UPDATE SKIP LOCKED
), timing AS (
  SELECT c.id, c.tid,
         now() + LEAST($4::int,
                       CASE WHEN s.compensation_status = 'running'
                            THEN ${timeoutOf("s.config->'compensate'")}
                            ELSE ${timeoutOf('s.definition')} END) * interval '1 millisecond' AS until
    FROM c JOIN steps s ON s.id = c.id
)
UPDATE steps s
   SET status = CASE WHEN s.compensation_status = 'running' THEN s.status ELSE 'running' END,
       task_id = t.tid,
       task_worker_id = $1,
       task_claimed_at = now(),
       lease_owner = 'task:' || t.tid,
       lease_expires_at = t.until,
       run_at = t.until,
       due_action = 'task_timeout',
       started_at = COALESCE(s.started_at, now()),
       updated_at = now()
  FROM timing t
 WHERE s.id = t.id
RETURNING s.task_id AS "id", s.flow_id AS "flowId", s.step_id AS "stepId", s.task_type AS "type", s.task_input AS "input",
          CASE WHEN s.compensation_status = 'running' THEN s.compensation_attempt + 1 ELSE s.attempt + 1 END AS "attempt",
          CASE WHEN s.compensation_status = 'running' THEN s.flow_id || ':' || s.step_id || ':compensate'
               WHEN s.alternative_id IS NOT NULL THEN s.flow_id || ':' || s.step_id || ':' || s.alternative_id
               ELSE s.flow_id || ':' || s.step_id END AS "idempotencyKey",
          s.lease_expires_at AS "leaseExpiresAt"`;

/**
 * Extends a live task lease by LEASE_MS from now, never past the attempt's
 * timeout (claim time + timeoutMs).
 */
export const HEARTBEAT_TASK = `
WITH t AS (
  SELECT id, LEAST(now() + $2::int * interval '1 millisecond',
                   task_claimed_at + (CASE WHEN compensation_status = 'running'
                                           THEN ${timeoutOf("config->'compensate'")}
                                           ELSE ${timeoutOf('definition')} END) * interval '1 millisecond') AS until
    FROM steps
   WHERE task_id = $1 AND lease_owner = 'task:' || $1 AND lease_expires_at > now()
)
UPDATE steps s SET lease_expires_at = t.until, run_at = t.until, updated_at = now()
  FROM t
 WHERE s.id = t.id
RETURNING s.lease_expires_at AS "leaseExpiresAt"`;
