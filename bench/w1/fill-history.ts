// Fills a bench database the way a service that has run for a while leaves
// it: finished steps in completed flows (with their attempts and events) and
// delay steps parked on timers far in the future. The rows are copies of
// real flows made through the API first (W1 flows run to completion, one
// delay flow parked by the executor), so every column, status and JSON shape
// is the service's own; copies get new time-ordered ids and timestamps
// shifted to their own creation time, inserted with generate_series in one
// transaction. Then VACUUM (ANALYZE), as autovacuum would have done by then.
import pg from 'pg';
import type { BenchDatabase } from '../lib/bench-database.js';
import { awaitFinishedFlows } from '../lib/await-flows.js';
import { SERVER_ENTRY, startProcess } from '../lib/service-process.js';
import { submitFlow } from '../lib/submit-flow.js';
import { w1Plan } from './run.js';

export interface FillOptions {
  /** Finished steps, in completed 5-step W1 flows; a multiple of 5. */
  finishedSteps: number;
  /** Parked delay steps, one a flow, due 1 to 2 days from now. */
  waitingSteps: number;
}

/** Distinct completed template flows; copies cycle through them (about 1 call in 10 was retried in each). */
const COMPLETED_TEMPLATES = 10;
const W1_STEPS = 5;
const DAY_MS = 86_400_000;
/** The parked template's delay: 2 days, so copies created over the last day are due 1 to 2 days from now. */
const PARKED_DELAY_MS = 2 * DAY_MS;
/** Completed copies are created over this many days before the last hour. */
const HISTORY_DAYS = 7;
const TABLES = ['flows', 'steps', 'attempts', 'flow_events'] as const;

/** A v7 (time-ordered) UUID for a time, as the service makes ids; random bits from gen_random_uuid(). */
const UUID_V7 = `
CREATE FUNCTION pg_temp.uuid_v7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT overlay(overlay(replace(gen_random_uuid()::text, '-', '')
                         placing lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') FROM 1 FOR 12)
                 placing '7' FROM 13 FOR 1)::uuid
$$`;

/** Makes the template flows through the service and waits until they are finished or parked. */
async function makeTemplates(database: BenchDatabase, stubUrl: string): Promise<{ completed: string[]; parked: string }> {
  const service = await startProcess([SERVER_ENTRY], { DATABASE_URL: database.url, HTTP_ALLOWED_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn' });
  try {
    const completed = await Promise.all(Array.from({ length: COMPLETED_TEMPLATES }, (_, f) => submitFlow(service.url, w1Plan(stubUrl, `fill-${Date.now()}`, f))));
    const parked = await submitFlow(service.url, { name: 'parked', steps: [{ id: 'wait', kind: 'delay', delayMs: PARKED_DELAY_MS }] });
    const statuses = await awaitFinishedFlows(database.url, completed, 60_000);
    if ([...statuses.values()].some((s) => s !== 'completed')) throw new Error(`a template flow did not complete: ${[...statuses.values()].join(', ')}`);
    await awaitParked(database.url, parked, 60_000);
    return { completed, parked };
  } finally {
    await service.stop();
  }
}

async function awaitParked(databaseUrl: string, flowId: string, timeoutMs: number): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const started = Date.now();
    for (;;) {
      const { rowCount } = await c.query(`SELECT 1 FROM steps WHERE flow_id = $1 AND due_action = 'timer' AND lease_owner IS NULL AND run_at > now()`, [flowId]);
      if (rowCount === 1) return;
      if (Date.now() - started > timeoutMs) throw new Error(`the template delay step of flow ${flowId} was not parked within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await c.end();
  }
}

/**
 * INSERT INTO table SELECT every column of template rows `t`: an override
 * where given, else timestamps moved by `shift`, else the template's value.
 */
async function copyRows(c: pg.Client, table: string, from: string, shift: string, overrides: Record<string, string>): Promise<number> {
  const { rows: columns } = await c.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const unknown = Object.keys(overrides).filter((o) => !columns.some((col) => col.name === o));
  if (unknown.length > 0) throw new Error(`${table} has no column ${unknown.join(', ')}`);
  const value = (col: { name: string; type: string }) =>
    overrides[col.name] ?? (col.type === 'timestamp with time zone' ? `t."${col.name}" + ${shift}` : `t."${col.name}"`);
  const result = await c.query(`INSERT INTO "${table}" (${columns.map((col) => `"${col.name}"`).join(', ')}) SELECT ${columns.map(value).join(', ')} FROM ${from}`);
  return result.rowCount ?? 0;
}

/** The copies to make: one row per new flow, with its template and time shift. */
async function planCopies(c: pg.Client, templates: { completed: string[]; parked: string }, completedCopies: number, parkedCopies: number): Promise<void> {
  await c.query(
    `CREATE TEMP TABLE fill_flows ON COMMIT DROP AS
     WITH tpl AS (SELECT id, created_at, (row_number() OVER (ORDER BY id) - 1)::int AS k FROM flows WHERE id = ANY($1::uuid[])),
          copies AS (
            SELECT tpl.id AS tpl_id, tpl.created_at AS tpl_at,
                   now() - interval '1 hour' - $3::int * interval '1 day' * (g::float8 / $2::int) AS at
              FROM generate_series(1, $2::int) g JOIN tpl ON tpl.k = g % $5::int
            UNION ALL
            SELECT p.id, p.created_at, now() - interval '1 day' * (g::float8 / $4::int)
              FROM generate_series(1, $4::int) g, flows p WHERE p.id = $6::uuid)
     SELECT pg_temp.uuid_v7(at) AS id, tpl_id, at, at - tpl_at AS shift FROM copies`,
    [templates.completed, completedCopies, HISTORY_DAYS, parkedCopies, templates.completed.length, templates.parked],
  );
  await c.query(
    `CREATE TEMP TABLE fill_steps ON COMMIT DROP AS
     SELECT pg_temp.uuid_v7(f.at) AS id, f.id AS flow_id, t.id AS tpl_id, f.shift FROM fill_flows f JOIN steps t ON t.flow_id = f.tpl_id`,
  );
  await c.query('ANALYZE fill_flows');
  await c.query('ANALYZE fill_steps');
}

async function copyAll(c: pg.Client): Promise<Record<string, number>> {
  return {
    flows: await copyRows(c, 'flows', 'fill_flows f JOIN flows t ON t.id = f.tpl_id', 'f.shift', { id: 'f.id' }),
    steps: await copyRows(c, 'steps', 'fill_steps m JOIN steps t ON t.id = m.tpl_id', 'm.shift', {
      id: 'm.id',
      flow_id: 'm.flow_id',
      completion_order: `CASE WHEN t.completion_order IS NULL THEN NULL ELSE nextval('step_completion_order_seq') END`,
    }),
    attempts: await copyRows(c, 'attempts', 'fill_steps m JOIN attempts t ON t.step_row_id = m.tpl_id', 'm.shift', {
      id: 'pg_temp.uuid_v7(t.started_at + m.shift)',
      step_row_id: 'm.id',
      flow_id: 'm.flow_id',
    }),
    flow_events: await copyRows(c, 'flow_events', 'fill_flows f JOIN flow_events t ON t.flow_id = f.tpl_id', 'f.shift', { flow_id: 'f.id' }),
  };
}

/** Rows and size (table, indexes and TOAST, in MiB) of each filled table, and the steps by status. */
async function describe(c: pg.Client) {
  const tables: Record<string, { rows: number; totalMiB: number }> = {};
  for (const table of TABLES) {
    const { rows } = await c.query<{ n: string; bytes: string }>(`SELECT count(*)::text AS n, pg_total_relation_size('"${table}"')::text AS bytes FROM "${table}"`);
    tables[table] = { rows: Number(rows[0]!.n), totalMiB: Math.round((Number(rows[0]!.bytes) / 1048576) * 10) / 10 };
  }
  const { rows } = await c.query<{ status: string; dueAction: string | null; n: string }>(
    `SELECT status, due_action AS "dueAction", count(*)::text AS n FROM steps GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return { tables, steps: rows.map((r) => ({ status: r.status, dueAction: r.dueAction, count: Number(r.n) })) };
}

/** Fills `database` (migrated by a service start) through template flows made against the W1 stub at `stubUrl`. */
export async function fillHistory(database: BenchDatabase, stubUrl: string, options: FillOptions) {
  if (options.finishedSteps % W1_STEPS !== 0 || options.finishedSteps < COMPLETED_TEMPLATES * W1_STEPS) {
    throw new Error(`finishedSteps must be a multiple of ${W1_STEPS}, at least ${COMPLETED_TEMPLATES * W1_STEPS}`);
  }
  if (options.waitingSteps < 1) throw new Error('waitingSteps must be at least 1');
  const templates = await makeTemplates(database, stubUrl);
  const started = performance.now();
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(UUID_V7);
    await planCopies(c, templates, options.finishedSteps / W1_STEPS - COMPLETED_TEMPLATES, options.waitingSteps - 1);
    const inserted = await copyAll(c);
    await c.query('COMMIT');
    const insertS = (performance.now() - started) / 1000;
    await c.query(`VACUUM (ANALYZE) ${TABLES.map((t) => `"${t}"`).join(', ')}`);
    return { inserted, insertS, fillS: (performance.now() - started) / 1000, ...(await describe(c)) };
  } finally {
    await c.end();
  }
}
