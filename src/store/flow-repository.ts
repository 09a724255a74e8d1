// Flows out of Postgres: the detailed view, lists and the event log
// (creation is flow-creation.ts).
import type { Database } from './database.js';
import { FLOW_COLUMNS, type FlowRow } from './flow-tx.js';
import { STEP_COLUMNS, type StepRow } from './step-row.js';

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
              started_at AS "startedAt", finished_at AS "finishedAt", duration_ms::float8 AS "durationMs"
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
