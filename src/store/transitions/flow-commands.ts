// Commands a client gives a flow: cancel (with or without compensation) and
// restart from a step (earlier checkpoints kept, the rest run again).
import { defaultCancelCompensates } from '../../domain/atomic-modes.js';
import { isTerminalFlowStatus } from '../../domain/statuses.js';
import type { FlowTx } from '../flow-tx.js';
import { recountOutputBytes } from '../output-budget.js';
import { recordSupersededTasks } from '../superseded-tasks.js';
import { endFlow } from './flow-progress.js';
import { noteDelayParked } from './attempts.js';
import { parkedRunAt } from '../sql/becoming-due.js';
import { primaryDelayMs } from '../../domain/plan.js';

export class CommandRefused extends Error {}
/** A restart naming a step the flow does not have (422). */
export class UnknownStep extends Error {}

export async function cancelFlow(tx: FlowTx, compensate: boolean | undefined, by: string | null): Promise<void> {
  if (isTerminalFlowStatus(tx.flow.status) || tx.flow.status === 'compensating') {
    throw new CommandRefused(`flow is already ${tx.flow.status}`);
  }
  const doCompensate = compensate ?? defaultCancelCompensates(tx.flow.mode);
  await endFlow(tx, { errorType: 'cancelled', message: `cancelled${by ? ` by ${by}` : ''}` }, { compensate: doCompensate, final: 'cancelled' });
}

const RESTARTABLE = new Set(['failed', 'cancelled', 'completed_with_errors']);
const KEPT = new Set(['succeeded', 'skipped']);

interface StepState {
  stepId: string;
  position: number;
  status: string;
  dependsOn: string[];
  quality: number | null;
}

/**
 * Steps before `fromStep` (default: the first failed one) that succeeded or
 * were skipped keep their checkpoints and never run again; every other step
 * is reset and runs again. Returns the ids of the steps that will run.
 */
export async function restartFlow(tx: FlowTx, fromStep: string | undefined, input: unknown): Promise<string[]> {
  if (!RESTARTABLE.has(tx.flow.status)) throw new CommandRefused(`only failed, cancelled or completed_with_errors flows restart; this one is ${tx.flow.status}`);
  // An open escalation (a compensation that failed) is about this run's effects: answered
  // after a restart it would act on the next run's steps. It is answered first.
  const { rows: open } = await tx.client.query<{ id: string; kind: string; stepId: string }>(
    `SELECT id, kind, step_id AS "stepId" FROM escalations WHERE flow_id = $1 AND status = 'open' ORDER BY created_at LIMIT 1`,
    [tx.flow.id],
  );
  if (open[0]) throw new CommandRefused(`escalation ${open[0].id} (${open[0].kind}, step ${open[0].stepId}) is open: resolve it before restarting the flow`);
  const { rows } = await tx.client.query<StepState>(
    `SELECT step_id AS "stepId", position, status, depends_on AS "dependsOn", quality FROM steps WHERE flow_id = $1 ORDER BY position FOR UPDATE`,
    [tx.flow.id],
  );
  const from = fromStep ? rows.find((r) => r.stepId === fromStep) : (rows.find((r) => r.status === 'failed') ?? rows.find((r) => !KEPT.has(r.status)));
  if (!from && fromStep) throw new UnknownStep(`the flow has no step "${fromStep}"`);
  if (!from) throw new CommandRefused('nothing to restart: every step succeeded');
  const reset = rows.filter((r) => r.position >= from.position || !KEPT.has(r.status));
  const resetIds = new Set(reset.map((r) => r.stepId));
  const planSteps = new Map(tx.flow.plan?.steps.map((s) => [s.id, s]));
  const pending = reset.map((r) => {
    const pendingDeps = r.dependsOn.filter((d) => resetIds.has(d)).length;
    const step = planSteps.get(r.stepId);
    // A delay due at once is parked on its timer by this statement, as at creation: it runs from the restart.
    return { stepId: r.stepId, pendingDeps, delayMs: pendingDeps === 0 && step ? primaryDelayMs(step) : null };
  });
  // Before the reset clears task_id: a worker may still hold one of these tasks.
  await recordSupersededTasks(tx.client, tx.flow.id, [...resetIds]);
  await recountOutputBytes(tx.client, tx.flow.id, [...resetIds]);
  await tx.client.query(
    `UPDATE steps s
        SET status = CASE WHEN p.delay_ms IS NOT NULL THEN 'running' WHEN p.pending_deps = 0 THEN 'scheduled' ELSE 'pending' END,
            pending_deps = p.pending_deps,
            run_at = CASE WHEN p.delay_ms IS NOT NULL THEN ${parkedRunAt('p')} WHEN p.pending_deps = 0 THEN now() END,
            due_action = CASE WHEN p.delay_ms IS NOT NULL THEN 'timer' WHEN p.pending_deps = 0 THEN 'attempt' END,
            definition = s.config->'primary', alternative_id = NULL, fallback_index = 0, degradation_index = 0,
            attempt = 0, counted_attempts = 0, correction_rerun = false, corrections_used = '{}', strategy = NULL,
            quality = NULL, output = NULL, error = NULL, last_delay_ms = NULL, first_failure_at = NULL, first_error_type = NULL,
            lease_owner = NULL, lease_expires_at = NULL, task_id = NULL, task_input = NULL, task_worker_id = NULL,
            task_claimed_at = NULL, completion_order = NULL, compensation_status = NULL, compensation_error = NULL,
            compensation_attempt = 0, started_at = CASE WHEN p.delay_ms IS NOT NULL THEN now() END, finished_at = NULL, run = s.run + 1, updated_at = now()
       FROM jsonb_to_recordset($2::jsonb) AS p(step_id text, pending_deps int, delay_ms bigint)
      WHERE s.flow_id = $1 AND s.step_id = p.step_id`,
    [tx.flow.id, JSON.stringify(pending.map((p) => ({ step_id: p.stepId, pending_deps: p.pendingDeps, delay_ms: p.delayMs })))],
  );
  for (const p of pending) if (p.delayMs !== null) noteDelayParked(tx, p.stepId, p.delayMs);
  const quality = rows.filter((r) => !resetIds.has(r.stepId)).reduce((q, r) => q * (r.quality ?? 1), 1);
  const deadlineAt = await renewDeadline(tx);
  tx.set({ status: 'running', error: null, finishedAt: null, stepsRemaining: reset.length, stepsFailed: 0, quality, ...(input !== undefined ? { input } : {}) });
  tx.event('flow.restarted', from.stepId, {
    fromStep: from.stepId,
    steps: reset.map((r) => r.stepId),
    inputReplaced: input !== undefined,
    ...(deadlineAt ? { deadlineAt: deadlineAt.toISOString() } : {}),
  });
  tx.workDue();
  return reset.map((r) => r.stepId);
}

/**
 * A restarted flow gets its plan's deadlineMs again, from now: a flow that
 * failed deadline_exceeded would otherwise fail again at its first step
 * (every step start checks the deadline). Null for a plan without one.
 */
async function renewDeadline(tx: FlowTx): Promise<Date | null> {
  // The command's transaction read the plan (validated at submission).
  const deadlineMs = tx.flow.plan?.deadlineMs ?? null;
  if (deadlineMs === null) return null;
  const { rows } = await tx.client.query<{ deadlineAt: Date }>(
    `UPDATE flows SET deadline_at = now() + $2 * interval '1 millisecond' WHERE id = $1 RETURNING deadline_at AS "deadlineAt"`,
    [tx.flow.id, deadlineMs],
  );
  tx.flow.deadlineAt = rows[0]!.deadlineAt;
  return tx.flow.deadlineAt;
}
