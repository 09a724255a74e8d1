// How a flow moves forward inside a FlowTx: dependents released or skipped,
// the flow settled when nothing is left, or failed (siblings cancelled,
// compensation started) when its atomic mode says so.
import { settledFlowStatus } from '../../domain/atomic-modes.js';
import { transitiveDependents } from '../../domain/dependency-graph.js';
import type { FlowTx } from '../flow-tx.js';
import { prepared } from '../prepared.js';
import { STEP_COLUMNS, type StepRow } from '../step-row.js';
import type { Statement } from './attempts.js';
import { closeOpenEscalations } from './escalation-writes.js';
import { finishEndedFlow, scheduleNextCompensation } from './compensation.js';

/**
 * Runs `settle` (the update that ends step `stepId`) and, in the same
 * statement and only when it applied, decrements its dependents' counters:
 * those with nothing left to wait for become due now and, when the executor
 * lent this transaction capacity, are claimed for it at once (the lease
 * rules of CLAIM_DUE_STEPS). Returns the ids of steps that became due, or
 * undefined when `settle` did not apply (the work was lost).
 */
export async function settleAndRelease(tx: FlowTx, stepId: string, settle: Statement): Promise<string[] | undefined> {
  const dependents = tx.flow.plan.steps.filter((s) => s.dependsOn.includes(stepId)).length;
  if (dependents === 0) {
    const result = await tx.client.query(prepared(settle.text, settle.values));
    return result.rowCount === 1 ? [] : undefined;
  }
  const claimer = tx.readyClaimer;
  // A slot for every dependent, ready or not (only the statement knows): the
  // unused ones go back as soon as it answers.
  const reservation = claimer?.reserve(dependents);
  const n = settle.values.length;
  const { rows } = await tx.client.query<ReleasedRow>(prepared(releaseStatement(settle.text, n), [
    ...settle.values,
    tx.flow.id,
    stepId,
    reservation?.slots ?? 0,
    claimer?.owner ?? null,
    claimer?.leaseMs ?? 0,
  ]));
  const released = rows.filter((r) => r.id !== null);
  reservation?.accept(released.filter((r) => r.claimed));
  if (rows[0]!.settled === 0) return undefined;
  const ready = released.filter((r) => r.ready).map((r) => r.stepId);
  if (ready.length > 0 && !claimer) tx.workDue();
  return ready;
}

type ReleasedRow = StepRow & { settled: number; ready: boolean; claimed: boolean; dueAt: Date; claimedAt: Date };

/** `settle` (parameters $1..$n) then the release of dependents ($n+1 flow, $n+2 step, $n+3 slots, $n+4 owner, $n+5 lease ms). */
function releaseStatement(settle: string, n: number): string {
  const [flow, step, slots, owner, lease] = [1, 2, 3, 4, 5].map((i) => `$${n + i}`);
  const claim = `dep.ready AND dep.rn <= ${slots}::int`;
  return `WITH settled AS (${settle} RETURNING 1),
  dep AS (
    SELECT id, pending_deps = 1 AS ready, row_number() OVER (ORDER BY pending_deps, position) AS rn
      FROM steps
     WHERE flow_id = ${flow}::uuid AND ${step}::text = ANY(depends_on) AND status = 'pending' AND EXISTS (SELECT 1 FROM settled)),
  released AS (
    UPDATE steps s
       SET pending_deps = s.pending_deps - 1,
           status = CASE WHEN NOT dep.ready THEN s.status WHEN ${claim} AND s.kind <> 'task' THEN 'running' ELSE 'scheduled' END,
           due_action = CASE WHEN dep.ready THEN 'attempt' ELSE s.due_action END,
           run_at = CASE WHEN NOT dep.ready THEN s.run_at WHEN ${claim} THEN now() + ${lease}::int * interval '1 millisecond' ELSE now() END,
           lease_owner = CASE WHEN ${claim} THEN ${owner}::text ELSE s.lease_owner END,
           lease_expires_at = CASE WHEN ${claim} THEN now() + ${lease}::int * interval '1 millisecond' ELSE s.lease_expires_at END,
           started_at = CASE WHEN ${claim} AND s.kind <> 'task' THEN COALESCE(s.started_at, now()) ELSE s.started_at END,
           updated_at = now()
      FROM dep
     WHERE s.id = dep.id AND s.status = 'pending'
    RETURNING ${STEP_COLUMNS('s')}, dep.ready AS ready, ${claim} AS claimed, now() AS "dueAt", now() AS "claimedAt")
SELECT t.n AS settled, r.* FROM (SELECT count(*)::int AS n FROM settled) t LEFT JOIN released r ON true`;
}

/** Marks every step downstream of `stepIds` skipped; returns how many were. */
export async function skipDependents(tx: FlowTx, stepIds: string[], reason: string): Promise<number> {
  const downstream = transitiveDependents(tx.flow.plan.steps, stepIds);
  if (downstream.length === 0) return 0;
  const { rows } = await tx.client.query<{ stepId: string }>(
    `UPDATE steps SET status = 'skipped', finished_at = now(), run_at = NULL, due_action = NULL, updated_at = now()
      WHERE flow_id = $1 AND step_id = ANY($2) AND status = 'pending'
      RETURNING step_id AS "stepId"`,
    [tx.flow.id, downstream],
  );
  for (const row of rows) tx.event('step.skipped', row.stepId, { reason });
  return rows.length;
}

/** Counts `settled` more steps as done and completes the flow when none is left. */
export function settleSteps(tx: FlowTx, settled: number): void {
  const remaining = tx.flow.stepsRemaining - settled;
  tx.set({ stepsRemaining: remaining });
  if (remaining > 0 || tx.flow.status === 'compensating' || tx.flow.status === 'failed' || tx.flow.status === 'cancelled') return;
  const status = settledFlowStatus(tx.flow.stepsFailed);
  tx.set({ status, finishedAt: new Date() });
  tx.event('flow.completed', null, { status, quality: tx.flow.quality, stepsFailed: tx.flow.stepsFailed });
  tx.webhook('flow.completed', { status, quality: tx.flow.quality, stepsFailed: tx.flow.stepsFailed });
  tx.fact({ kind: 'flow_ended', status, durationMs: Date.now() - tx.flow.createdAt.getTime() });
}

export interface FlowError {
  errorType: string;
  message: string;
  stepId?: string;
}

/**
 * Ends the flow as failed (or cancelled): nothing new starts, running and
 * waiting steps are cancelled, open escalations closed, and succeeded steps
 * with a compensation are compensated in reverse completion order.
 */
export async function endFlow(tx: FlowTx, error: FlowError, options: { compensate: boolean; final: 'failed' | 'cancelled' }): Promise<void> {
  const { rows } = await tx.client.query<{ stepId: string }>(
    `UPDATE steps
        SET status = 'cancelled', finished_at = now(), run_at = NULL, due_action = NULL,
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE flow_id = $1 AND status IN ('pending', 'scheduled', 'running', 'waiting')
      RETURNING step_id AS "stepId"`,
    [tx.flow.id],
  );
  for (const row of rows) tx.event('step.cancelled', row.stepId, { reason: options.final === 'cancelled' ? 'flow cancelled' : 'flow failed' });
  await closeOpenEscalations(tx, options.final === 'cancelled' ? 'flow cancelled' : 'flow failed');
  tx.set({ error, stepsRemaining: 0 });

  let compensating = 0;
  if (options.compensate) {
    const marked = await tx.client.query(
      `UPDATE steps SET compensation_status = 'pending', updated_at = now()
        WHERE flow_id = $1 AND status = 'succeeded' AND config->'compensate' <> 'null'::jsonb AND compensation_status IS NULL`,
      [tx.flow.id],
    );
    compensating = marked.rowCount ?? 0;
  }
  if (compensating > 0) {
    tx.set({ status: 'compensating' });
    tx.event('flow.compensating', null, { steps: compensating, reason: error.message });
    await scheduleNextCompensation(tx);
    return;
  }
  finishEndedFlow(tx);
}
