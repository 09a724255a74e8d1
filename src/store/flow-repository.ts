// Flows in and out of Postgres: creation (flow, steps and first event in one
// transaction, idempotent by key), the detailed view, lists and the event log.
import { v7 as uuidv7 } from 'uuid';
import type { NormalizedPlan } from '../domain/plan.js';
import type { Database } from './database.js';
import { WORK_CHANNEL } from './channels.js';
import { prepared } from './prepared.js';
import { FLOW_COLUMNS, type FlowRow } from './flow-tx.js';
import { STEP_COLUMNS, type StepRow } from './step-row.js';

export interface NewFlow {
  plan: NormalizedPlan;
  idempotencyKey: string | undefined;
  requestHash: string;
  createdBy: string | null;
  traceId: string | null;
  traceparent: string | null;
}

export type CreateResult =
  | { created: true; flowId: string; createdAt: Date; steps: { id: string; stepId: string; status: string }[] }
  | { created: false; flowId: string; sameRequest: boolean };

function stepRecords(plan: NormalizedPlan) {
  return plan.steps.map((s) => ({
    id: uuidv7(),
    step_id: s.id,
    position: s.position,
    kind: s.primary.kind,
    status: s.dependsOn.length === 0 ? 'scheduled' : 'pending',
    critical: s.critical,
    depends_on: s.dependsOn,
    pending_deps: s.dependsOn.length,
    config: s,
    definition: s.primary,
  }));
}

/**
 * The flow, its steps, its first event and the executors' wake-up in ONE
 * statement (atomic without BEGIN/COMMIT, one round trip). With an
 * Idempotency-Key already taken nothing is written and the existing flow's
 * id and request hash come back instead.
 */
const CREATE_FLOW = `
WITH f AS (
  INSERT INTO flows (id, name, mode, status, input, labels, plan, notify, deadline_at, idempotency_key, request_hash,
                     created_by, trace_id, traceparent, event_seq, steps_remaining, started_at)
  VALUES ($1, $2, $3, 'running', $4, $5, $6, $7,
          CASE WHEN $8::int IS NULL THEN NULL ELSE now() + $8::int * interval '1 millisecond' END,
          $9, $10, $11, $12, $14, 1, $13, now())
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, created_at
), s AS (
  INSERT INTO steps (id, flow_id, step_id, position, kind, status, critical, depends_on, pending_deps, config, definition, run_at, due_action)
  SELECT x.id, f.id, x.step_id, x.position, x.kind, x.status, x.critical,
         ARRAY(SELECT jsonb_array_elements_text(x.depends_on)), x.pending_deps, x.config, x.definition,
         CASE WHEN x.status = 'scheduled' THEN now() END, CASE WHEN x.status = 'scheduled' THEN 'attempt' END
    FROM f, jsonb_to_recordset($15::jsonb) AS x(id uuid, step_id text, position int, kind text, status text, critical boolean,
                                                 depends_on jsonb, pending_deps int, config jsonb, definition jsonb)
  RETURNING 1
), e AS (
  INSERT INTO flow_events (flow_id, seq, type, data) SELECT f.id, 1, 'flow.started', $16::jsonb FROM f RETURNING 1
), n AS (
  SELECT pg_notify('${WORK_CHANNEL}', '') FROM f
)
SELECT f.id, f.created_at AS "createdAt", true AS created, NULL AS "requestHash", (SELECT count(*) FROM s) + (SELECT count(*) FROM e) + (SELECT count(*) FROM n) AS written
  FROM f
UNION ALL
SELECT id, created_at, false, request_hash, 0 FROM flows WHERE idempotency_key = $9 AND NOT EXISTS (SELECT 1 FROM f)`;

export async function createFlow(db: Database, f: NewFlow): Promise<CreateResult> {
  const id = uuidv7();
  const steps = stepRecords(f.plan);
  for (;;) {
    const { rows } = await db.query<{ id: string; createdAt: Date; created: boolean; requestHash: string | null }>(prepared(CREATE_FLOW, [
      id,
      f.plan.name,
      f.plan.mode,
      JSON.stringify(f.plan.input),
      JSON.stringify(f.plan.labels),
      JSON.stringify(f.plan),
      f.plan.notify ? JSON.stringify(f.plan.notify) : null,
      f.plan.deadlineMs,
      f.idempotencyKey ?? null,
      f.requestHash,
      f.createdBy,
      f.traceId,
      f.plan.steps.length,
      f.traceparent,
      JSON.stringify(steps),
      JSON.stringify({ mode: f.plan.mode, steps: f.plan.steps.length, createdBy: f.createdBy }),
    ]));
    const row = rows[0];
    // A concurrent submission with the same key may not be visible yet: ask again.
    if (!row) continue;
    if (!row.created) return { created: false, flowId: row.id, sameRequest: row.requestHash === f.requestHash };
    return { created: true, flowId: row.id, createdAt: row.createdAt, steps: steps.map((st) => ({ id: st.id, stepId: st.step_id, status: st.status })) };
  }
}

export interface AttemptRow {
  stepId: string;
  phase: string;
  alternativeId: string | null;
  number: number;
  outcome: string;
  error: unknown;
  executedBy: string | null;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
}

export interface FlowDetails {
  flow: FlowRow & { createdBy: string | null };
  steps: StepRow[];
  attempts: AttemptRow[];
}

export async function getFlowDetails(db: Database, id: string): Promise<FlowDetails | undefined> {
  const { rows } = await db.query<FlowRow & { createdBy: string | null }>(`SELECT ${FLOW_COLUMNS}, created_by AS "createdBy" FROM flows WHERE id = $1`, [id]);
  if (!rows[0]) return undefined;
  const [steps, attempts] = await Promise.all([
    db.query<StepRow>(`SELECT ${STEP_COLUMNS('s')} FROM steps s WHERE s.flow_id = $1 ORDER BY s.position`, [id]),
    db.query<AttemptRow>(
      `SELECT step_id AS "stepId", phase, alternative_id AS "alternativeId", number, outcome, error, executed_by AS "executedBy",
              started_at AS "startedAt", finished_at AS "finishedAt", duration_ms AS "durationMs"
         FROM attempts WHERE flow_id = $1 ORDER BY started_at, id`,
      [id],
    ),
  ]);
  return { flow: rows[0], steps: steps.rows, attempts: attempts.rows };
}

export interface FlowFilter {
  status?: string | undefined;
  name?: string | undefined;
  labels: [string, string][];
  /** Exclusive upper bound (created_at, id) from the cursor. */
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

export async function listFlows(db: Database, filter: FlowFilter): Promise<(FlowRow & { createdBy: string | null })[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    where.push(sql.replaceAll('?', `$${values.length}`));
  };
  if (filter.status) add('status = ?', filter.status);
  if (filter.name) add('name = ?', filter.name);
  for (const [k, v] of filter.labels) add('labels @> ?::jsonb', JSON.stringify({ [k]: v }));
  if (filter.before) {
    values.push(filter.before.createdAt, filter.before.id);
    where.push(`(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
  }
  values.push(filter.limit);
  const { rows } = await db.query<FlowRow & { createdBy: string | null }>(
    `SELECT ${FLOW_COLUMNS}, created_by AS "createdBy" FROM flows ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return rows;
}

export interface EventRow {
  seq: number;
  at: Date;
  type: string;
  stepId: string | null;
  data: Record<string, unknown>;
}

export async function listEvents(db: Database, flowId: string, after: number, limit: number): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT seq, at, type, step_id AS "stepId", data FROM flow_events WHERE flow_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [flowId, after, limit],
  );
  return rows;
}

export async function flowExists(db: Database, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM flows WHERE id = $1', [id]);
  return rowCount === 1;
}

/** Of `ids`, those whose flow reached a terminal status. */
export async function terminalFlows(db: Database, ids: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM flows WHERE id = ANY($1::uuid[]) AND status IN ('completed', 'completed_with_errors', 'failed', 'cancelled')`,
    [ids],
  );
  return rows.map((r) => r.id);
}
