// Everything a FlowTx changed, written when its transaction ends: attempts,
// recovery episodes, flow fields, events, webhooks and NOTIFYs, for one
// FlowTx (FlowTx.finish) or a whole group-commit batch, in one statement.
import type pg from 'pg';
import type { FlowTx } from './flow-tx.js';
import { insertAttempts, insertEpisodes, updateRetries } from './outcome-records.js';
import { prepared } from './prepared.js';
import { idsListedIn } from './sql/listed-ids.js';

/**
 * Writes every FlowTx's attempts, recovery episodes, flow fields, events,
 * webhooks and NOTIFYs: one statement for the whole batch.
 */
export async function finishAll(client: pg.PoolClient, txs: FlowTx[]): Promise<void> {
  for (const tx of txs) {
    tx.recordLaterEvents();
    tx.noteTermination();
  }
  const attempts = txs.flatMap((tx) => tx.attempts);
  const episodes = txs.flatMap((tx) => tx.episodes);
  const changed = txs.filter((tx) => tx.changed);
  // Every field a transition may change, from the locked (and updated) in-memory rows.
  const flows = changed.map(({ flow: f, inputChanged }) => ({
    id: f.id,
    input_changed: inputChanged,
    input: inputChanged ? f.input : null,
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
  const retries = txs.flatMap((tx) => tx.retries);
  const webhooks = txs.flatMap((tx) => tx.webhooks.map((w) => ({ ...w, flow_id: tx.flow.id })));
  const notifications = new Map<string, [string, string]>();
  for (const tx of txs) for (const [k, channel] of tx.notifications) notifications.set(k, [channel, k.split('\u0000')[1] ?? '']);
  if (attempts.length + episodes.length + flows.length + webhooks.length + notifications.size + retries.length === 0) return;
  const all = [...notifications.values()];
  const { rows } = await client.query<{ retried: number }>(prepared(FINISH_ALL, [
    JSON.stringify(attempts),
    JSON.stringify(episodes),
    JSON.stringify(flows),
    JSON.stringify(events),
    JSON.stringify(webhooks),
    all.map((n) => n[0]),
    all.map((n) => n[1]),
    JSON.stringify(retries),
  ]));
  const retried = rows[0]?.retried ?? 0;
  if (retried !== retries.length) {
    // Rolls the batch back; the group commit then settles each outcome alone.
    throw new Error(`${retries.length - retried} of ${retries.length} retried steps were no longer this executor's`);
  }
}

/** $1 attempts, $2 episodes, $3 flows, $4 events, $5 webhooks (JSON arrays); $6/$7 NOTIFY channels and payloads; $8 retries (JSON array). */
export const FINISH_ALL = `
WITH a AS (${insertAttempts(1)}),
rt AS (${updateRetries(8)}),
ep AS (${insertEpisodes(2)}),
f AS (
  UPDATE flows SET event_seq = r.event_seq, status = r.status, quality = r.quality, error = r.error,
         steps_remaining = r.steps_remaining, steps_failed = r.steps_failed, finished_at = r.finished_at,
         input = CASE WHEN r.input_changed THEN COALESCE(r.input, 'null'::jsonb) ELSE flows.input END, updated_at = now()
    FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, input_changed boolean, input jsonb, event_seq int, status text, quality float8, error jsonb,
         steps_remaining int, steps_failed int, finished_at timestamptz)
   WHERE flows.id = ANY(${idsListedIn(3)}) AND flows.id = r.id),
ev AS (
  INSERT INTO flow_events (flow_id, seq, at, type, step_id, data)
  SELECT e.flow_id, e.seq, COALESCE(e.at, now()), e.type, e.step_id, e.data
    FROM jsonb_to_recordset($4::jsonb) AS e(flow_id uuid, seq int, at timestamptz, type text, step_id text, data jsonb)),
w AS (
  INSERT INTO webhook_deliveries (id, type, flow_id, target, url, payload)
  SELECT w.id, w.type, w.flow_id, w.target, w.url, w.payload
    FROM jsonb_to_recordset($5::jsonb) AS w(id uuid, type text, flow_id uuid, target text, url text, payload jsonb))
SELECT count(pg_notify(n.c, n.p)) AS notified, (SELECT count(*)::int FROM rt) AS retried FROM unnest($6::text[], $7::text[]) AS n(c, p)`;
