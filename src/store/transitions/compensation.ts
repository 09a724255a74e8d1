// Compensation runs one step at a time, in reverse order of completion; each
// step is compensated at most once. When none is left the ended flow gets its
// terminal status.
import { nextBackoffDelay } from '../../domain/backoff.js';
import type { Classification } from '../../domain/classifier.js';
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';
import { insertAttempt, updateStepIfOwned, type AttemptInfo } from './attempts.js';
import { openEscalation } from './escalation-writes.js';

export async function scheduleNextCompensation(tx: FlowTx): Promise<void> {
  const { rows } = await tx.client.query<{ stepId: string }>(
    `UPDATE steps SET due_action = 'compensate', run_at = now(), compensation_status = 'running', updated_at = now()
      WHERE id = (SELECT id FROM steps WHERE flow_id = $1 AND compensation_status = 'pending'
                   ORDER BY completion_order DESC LIMIT 1)
      RETURNING step_id AS "stepId"`,
    [tx.flow.id],
  );
  if (rows.length === 0) finishEndedFlow(tx);
  else tx.workDue();
}

/** Writes the terminal status of an ended flow (after its compensations, if any). */
export function finishEndedFlow(tx: FlowTx): void {
  const error = tx.flow.error as { errorType?: string } | null;
  const cancelled = error?.errorType === 'cancelled';
  const status = cancelled ? 'cancelled' : 'failed';
  tx.set({ status, finishedAt: new Date() });
  tx.event(cancelled ? 'flow.cancelled' : 'flow.failed', null, { error });
  if (!cancelled) tx.webhook('flow.failed', { status, error });
  tx.fact({ kind: 'flow_ended', status, durationMs: Date.now() - tx.flow.createdAt.getTime() });
}

export interface CompensationOutcome {
  attempt: AttemptInfo;
  owner: string | null;
}

/** A compensation that succeeded: the step ends `compensated`, the next one is scheduled. */
export async function recordCompensationSuccess(tx: FlowTx, step: StepRow, o: CompensationOutcome): Promise<boolean> {
  const ok = await updateStepIfOwned(
    tx,
    step,
    o.owner,
    `status = 'compensated', compensation_status = 'succeeded', compensation_attempt = $2, compensation_error = NULL,
     due_action = NULL, run_at = NULL, lease_owner = NULL, lease_expires_at = NULL, task_id = NULL`,
    [o.attempt.number],
    ['succeeded'],
  );
  if (!ok) return false;
  insertAttempt(tx, step, o.attempt, 'succeeded', null);
  if (o.attempt.number === 1) tx.event('compensation.started', step.stepId, {}, o.attempt.startedAt);
  tx.event('compensation.succeeded', step.stepId, { attempt: o.attempt.number });
  await scheduleNextCompensation(tx);
  return true;
}

/**
 * A compensation attempt that failed: retried with the step's retry policy
 * (never started twice: the same run keeps its counter), else given up with
 * an escalation of kind `compensation` while the remaining ones continue.
 */
export async function recordCompensationFailure(
  tx: FlowTx,
  step: StepRow,
  error: Classification,
  o: CompensationOutcome,
  ctx: { random: () => number },
): Promise<boolean> {
  const policy = step.config.primary.retry;
  const n = o.attempt.number;
  const retryable = error.retryable && (!policy.retryOn || policy.retryOn.includes(error.errorType)) && n < policy.maxAttempts;
  tx.fact({ kind: 'classified', errorType: error.errorType, severity: error.severity });
  const record = { ...error };
  if (retryable) {
    const { delayMs, previousDelayMs } = nextBackoffDelay(policy, n, step.lastDelayMs ?? undefined, ctx.random);
    const wait = policy.respectRetryAfter && error.retryAfterMs !== null ? Math.max(delayMs, error.retryAfterMs) : delayMs;
    const ok = await updateStepIfOwned(
      tx,
      step,
      o.owner,
      `compensation_attempt = $2, compensation_error = $3, last_delay_ms = $4, due_action = 'compensate',
       run_at = now() + $5 * interval '1 millisecond', lease_owner = NULL, lease_expires_at = NULL, task_id = NULL`,
      [n, JSON.stringify(record), previousDelayMs, wait],
      ['succeeded'],
    );
    if (!ok) return false;
    insertAttempt(tx, step, o.attempt, 'failed', record);
    if (n === 1) tx.event('compensation.started', step.stepId, {}, o.attempt.startedAt);
    tx.event('attempt.failed', step.stepId, { phase: 'compensate', attempt: n, error: record }, o.attempt.finishedAt);
    tx.event('recovery.decided', step.stepId, { phase: 'compensate', strategy: 'retry', delayMs: wait, reason: `compensation attempt ${n + 1} of ${policy.maxAttempts}` });
    return true;
  }
  const ok = await updateStepIfOwned(
    tx,
    step,
    o.owner,
    `compensation_status = 'failed', compensation_attempt = $2, compensation_error = $3, due_action = NULL, run_at = NULL,
     lease_owner = NULL, lease_expires_at = NULL, task_id = NULL`,
    [n, JSON.stringify(record)],
    ['succeeded'],
  );
  if (!ok) return false;
  insertAttempt(tx, step, o.attempt, 'failed', record);
  if (n === 1) tx.event('compensation.started', step.stepId, {}, o.attempt.startedAt);
  tx.event('compensation.failed', step.stepId, { attempt: n, error: record });
  await openEscalation(tx, {
    kind: 'compensation',
    stepId: step.stepId,
    reason: `compensation of ${step.stepId} failed after ${n} attempt(s): ${error.message}`,
    message: null,
    error: record,
    attempts: n,
    timeoutMs: null,
    onTimeout: null,
  });
  await scheduleNextCompensation(tx);
  return true;
}
