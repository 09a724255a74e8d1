// How a flow moves forward inside a FlowTx: dependents released or skipped,
// the flow settled when nothing is left, or failed (siblings cancelled,
// compensation started) when its atomic mode says so.
import { settledFlowStatus } from '../../domain/atomic-modes.js';
import { transitiveDependents } from '../../domain/dependency-graph.js';
import type { FlowTx } from '../flow-tx.js';
import { closeOpenEscalations } from './escalation-writes.js';
import { finishEndedFlow, scheduleNextCompensation } from './compensation.js';

/** Marks every step downstream of `stepIds` skipped; returns how many were. */
export async function skipDependents(tx: FlowTx, stepIds: string[], reason: string): Promise<number> {
  const downstream = transitiveDependents(tx.graph, stepIds);
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
  // A delay parked earlier in this transaction started before it is cancelled here.
  tx.recordLaterEvents();
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
