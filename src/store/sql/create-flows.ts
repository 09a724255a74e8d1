// Flows created set-wise (see flow-creation.ts): any number of flows, their
// steps, their first events and one wake-up of the executors in ONE
// statement (atomic without BEGIN/COMMIT, one round trip, one commit). A
// root `delay` step is created parked on its timer (status running, due
// action timer): its delay runs from the flow's creation.
//
// A flow whose Idempotency-Key is already taken is not written: its row
// comes back with created = false and the existing flow's id and request
// hash. A key taken by a concurrent statement that has not committed yet
// yields no row at all for that flow (the caller asks again).
import { WORK_CHANNEL } from '../channels.js';
import { parkedRunAt } from './becoming-due.js';

/** $1: the flows (JSON array, see flowRecord in flow-creation.ts), each with its steps. */
export const CREATE_FLOWS = `
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, name text, mode text, input jsonb, labels jsonb, plan jsonb, notify jsonb,
       deadline_ms bigint, idempotency_key text, request_hash text, created_by text, trace_id text, traceparent text,
       steps_remaining int, steps jsonb, started jsonb, timers jsonb, event_seq int)
), f AS (
  INSERT INTO flows (id, name, mode, status, input, labels, plan, notify, deadline_at, idempotency_key, request_hash,
                     created_by, trace_id, traceparent, event_seq, steps_remaining, started_at)
  SELECT x.id, x.name, x.mode, 'running', COALESCE(x.input, 'null'::jsonb), x.labels, x.plan, x.notify,
         CASE WHEN x.deadline_ms IS NULL THEN NULL ELSE now() + x.deadline_ms * interval '1 millisecond' END,
         x.idempotency_key, x.request_hash, x.created_by, x.trace_id, x.traceparent, x.event_seq, x.steps_remaining, now()
    FROM x
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, created_at
), s AS (
  INSERT INTO steps (id, flow_id, step_id, position, kind, status, critical, depends_on, pending_deps, config, definition,
                     run_at, due_action, started_at)
  SELECT st.id, f.id, st.step_id, st.position, st.kind, st.status, st.critical,
         ARRAY(SELECT jsonb_array_elements_text(st.depends_on)), st.pending_deps,
         x.plan->'steps'->st.position, x.plan->'steps'->st.position->'primary',
         CASE st.status WHEN 'scheduled' THEN now() WHEN 'running' THEN ${parkedRunAt('st')} END,
         CASE st.status WHEN 'scheduled' THEN 'attempt' WHEN 'running' THEN 'timer' END,
         CASE WHEN st.status = 'running' THEN now() END
    FROM f JOIN x ON x.id = f.id,
         jsonb_to_recordset(x.steps) AS st(id uuid, step_id text, position int, kind text, status text, critical boolean,
                                           depends_on jsonb, pending_deps int, delay_ms bigint)
), e AS (
  INSERT INTO flow_events (flow_id, seq, type, step_id, data)
  SELECT f.id, 1, 'flow.started', NULL, x.started FROM f JOIN x ON x.id = f.id
  UNION ALL
  SELECT f.id, t.seq, 'step.started', t.step_id, t.data
    FROM f JOIN x ON x.id = f.id, jsonb_to_recordset(x.timers) AS t(seq int, step_id text, data jsonb)
), n AS (
  SELECT pg_notify('${WORK_CHANNEL}', '') AS sent WHERE EXISTS (SELECT 1 FROM f)
)
SELECT f.id, f.id AS "requestId", f.created_at AS "createdAt", true AS created, NULL AS "requestHash", (SELECT count(*) FROM n) AS notified
  FROM f
UNION ALL
SELECT fl.id, x.id, fl.created_at, false, fl.request_hash, 0
  FROM x JOIN flows fl ON fl.idempotency_key = x.idempotency_key
 WHERE NOT EXISTS (SELECT 1 FROM f WHERE f.id = x.id)`;
