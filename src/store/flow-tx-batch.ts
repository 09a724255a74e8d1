// Many FlowTx in one database transaction (the executor's group commit):
// every flow locked by one statement, and every flow's changes, events,
// attempts, episodes, webhooks and notifications written by one more.
import type pg from 'pg';
import type { GraphNode } from '../domain/dependency-graph.js';
import { FLOW_COLUMNS, FlowTx, type FlowRow } from './flow-tx.js';
import { insertAttempts, insertEpisodes } from './outcome-records.js';
import { prepared } from './prepared.js';
import { graphOf, type StepGraphCache } from './step-graphs.js';

/** FLOW_COLUMNS, with the plan only of flows not in `$2` (the ids whose graphs are known). */
const FLOW_COLUMNS_UNLESS_KNOWN = FLOW_COLUMNS.replace(' plan,', ' CASE WHEN id = ANY($2::uuid[]) THEN NULL ELSE plan END AS plan,');

/**
 * Locks the flows (in id order, the order every batch uses) and opens a
 * FlowTx for each that exists. `columns`: FLOW_COLUMNS, or a leaner list for
 * a caller that knows which fields its transitions read. With `graphs`, the
 * plans of flows whose graphs it holds are not read (their FlowTx gets the
 * graph instead), and the graphs of the plans read are added to it.
 */
export async function openFlowTxs(client: pg.PoolClient, flowIds: string[], columns = FLOW_COLUMNS, graphs?: StepGraphCache): Promise<Map<string, FlowTx>> {
  const ids = [...new Set(flowIds)].sort();
  // Taken before the lock query waits: parallel batches may evict these entries meanwhile.
  const known = new Map<string, GraphNode[]>();
  if (graphs && columns === FLOW_COLUMNS) {
    for (const id of ids) {
      const graph = graphs.get(id);
      if (graph) known.set(id, graph);
    }
  }
  const { rows } =
    known.size > 0
      ? await client.query<FlowRow>(prepared(`SELECT ${FLOW_COLUMNS_UNLESS_KNOWN} FROM flows WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids, [...known.keys()]]))
      : await client.query<FlowRow>(prepared(`SELECT ${columns} FROM flows WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids]));
  return new Map(
    rows.map((row) => {
      if (!row.plan) return [row.id, new FlowTx(client, row, 'executor', known.get(row.id))];
      const graph = graphOf(row.plan);
      graphs?.set(row.id, graph);
      return [row.id, new FlowTx(client, row, 'executor', graph)];
    }),
  );
}

/**
 * Writes every FlowTx's attempts, recovery episodes, flow fields, events,
 * webhooks and NOTIFYs: one statement for the whole batch.
 */
export async function finishAll(client: pg.PoolClient, txs: FlowTx[]): Promise<void> {
  for (const tx of txs) tx.noteTermination();
  const attempts = txs.flatMap((tx) => tx.attempts);
  const episodes = txs.flatMap((tx) => tx.episodes);
  const changed = txs.filter((tx) => tx.changed);
  // Every field a transition may change, from the locked (and updated) in-memory rows.
  const flows = changed.map(({ flow: f }) => ({
    id: f.id,
    event_seq: f.eventSeq,
    status: f.status,
    quality: f.quality,
    error: f.error,
    steps_remaining: f.stepsRemaining,
    steps_failed: f.stepsFailed,
    finished_at: f.finishedAt?.toISOString() ?? null,
  }));
  const events = changed.flatMap((tx) =>
    tx.events.map((e) => ({ flow_id: tx.flow.id, seq: e.seq, type: e.type, step_id: e.stepId ?? null, data: e.data, at: e.at?.toISOString() ?? null })),
  );
  const webhooks = txs.flatMap((tx) => tx.webhooks.map((w) => ({ ...w, flow_id: tx.flow.id })));
  const notifications = new Map<string, [string, string]>();
  for (const tx of txs) for (const [k, channel] of tx.notifications) notifications.set(k, [channel, k.split('\u0000')[1] ?? '']);
  if (attempts.length + episodes.length + flows.length + webhooks.length + notifications.size === 0) return;
  const all = [...notifications.values()];
  await client.query(prepared(FINISH_ALL, [
    JSON.stringify(attempts),
    JSON.stringify(episodes),
    JSON.stringify(flows),
    JSON.stringify(events),
    JSON.stringify(webhooks),
    all.map((n) => n[0]),
    all.map((n) => n[1]),
  ]));
}

/** $1 attempts, $2 episodes, $3 flows, $4 events, $5 webhooks (JSON arrays); $6/$7 NOTIFY channels and payloads. */
const FINISH_ALL = `
WITH a AS (${insertAttempts(1)}),
ep AS (${insertEpisodes(2)}),
f AS (
  UPDATE flows SET event_seq = r.event_seq, status = r.status, quality = r.quality, error = r.error,
         steps_remaining = r.steps_remaining, steps_failed = r.steps_failed, finished_at = r.finished_at, updated_at = now()
    FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, event_seq int, status text, quality float8, error jsonb,
         steps_remaining int, steps_failed int, finished_at timestamptz)
   WHERE flows.id = r.id),
ev AS (
  INSERT INTO flow_events (flow_id, seq, at, type, step_id, data)
  SELECT e.flow_id, e.seq, COALESCE(e.at, now()), e.type, e.step_id, e.data
    FROM jsonb_to_recordset($4::jsonb) AS e(flow_id uuid, seq int, at timestamptz, type text, step_id text, data jsonb)),
w AS (
  INSERT INTO webhook_deliveries (id, type, flow_id, target, url, payload)
  SELECT w.id, w.type, w.flow_id, w.target, w.url, w.payload
    FROM jsonb_to_recordset($5::jsonb) AS w(id uuid, type text, flow_id uuid, target text, url text, payload jsonb))
SELECT count(pg_notify(n.c, n.p)) FROM unnest($6::text[], $7::text[]) AS n(c, p)`;
