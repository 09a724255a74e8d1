// Flows in and out of Postgres: creation (flow, steps and first event in one
// transaction, idempotent by key), the detailed view, lists and the event log.
import { v7 as uuidv7 } from 'uuid';
import type { NormalizedPlan } from '../domain/plan.js';
import type { Database } from './database.js';
import { WORK_CHANNEL } from './channels.js';
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

export type CreateResult = { created: true; flowId: string } | { created: false; flowId: string; sameRequest: boolean };

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

export async function createFlow(db: Database, f: NewFlow): Promise<CreateResult> {
  return db.transaction(async (client) => {
    const id = uuidv7();
    const deadline = f.plan.deadlineMs;
    const inserted = await client.query(
      `INSERT INTO flows (id, name, mode, status, input, labels, plan, notify, deadline_at, idempotency_key, request_hash,
                          created_by, trace_id, traceparent, event_seq, steps_remaining, started_at)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7,
               CASE WHEN $8::int IS NULL THEN NULL ELSE now() + $8::int * interval '1 millisecond' END,
               $9, $10, $11, $12, $14, 1, $13, now())
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [
        id,
        f.plan.name,
        f.plan.mode,
        JSON.stringify(f.plan.input),
        JSON.stringify(f.plan.labels),
        JSON.stringify(f.plan),
        f.plan.notify ? JSON.stringify(f.plan.notify) : null,
        deadline,
        f.idempotencyKey ?? null,
        f.requestHash,
        f.createdBy,
        f.traceId,
        f.plan.steps.length,
        f.traceparent,
      ],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<{ id: string; requestHash: string }>(
        `SELECT id, request_hash AS "requestHash" FROM flows WHERE idempotency_key = $1`,
        [f.idempotencyKey],
      );
      return { created: false, flowId: rows[0]!.id, sameRequest: rows[0]!.requestHash === f.requestHash };
    }
    await client.query(
      `INSERT INTO steps (id, flow_id, step_id, position, kind, status, critical, depends_on, pending_deps, config, definition, run_at, due_action)
       SELECT x.id, $1, x.step_id, x.position, x.kind, x.status, x.critical,
              ARRAY(SELECT jsonb_array_elements_text(x.depends_on)), x.pending_deps, x.config, x.definition,
              CASE WHEN x.status = 'scheduled' THEN now() END, CASE WHEN x.status = 'scheduled' THEN 'attempt' END
         FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, step_id text, position int, kind text, status text, critical boolean,
                                                 depends_on jsonb, pending_deps int, config jsonb, definition jsonb)`,
      [id, JSON.stringify(stepRecords(f.plan))],
    );
    await client.query(
      `INSERT INTO flow_events (flow_id, seq, type, data) VALUES ($1, 1, 'flow.started', $2)`,
      [id, JSON.stringify({ mode: f.plan.mode, steps: f.plan.steps.length, createdBy: f.createdBy })],
    );
    await client.query(`SELECT pg_notify($1, '')`, [WORK_CHANNEL]);
    return { created: true, flowId: id };
  });
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
