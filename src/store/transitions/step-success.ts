// A step that succeeded (or was completed or skipped by a person): output
// checkpointed, dependents released, the flow settled when it was the last.
import type { Degradation } from '../../domain/plan.js';
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';
import { insertAttempt, noteFirstStart, ownedStepUpdate, type AttemptInfo } from './attempts.js';
import { refreshWaiting } from './escalation-writes.js';
import { settleAndRelease, settleSteps } from './flow-progress.js';
import { closeEpisode } from './recovery-episodes.js';

/** Quality of the alternative a step kept: its degradation's, else 1. */
export function qualityOf(step: Pick<StepRow, 'alternativeId' | 'config'>): number {
  const degradation = step.config.degradations.find((d: Degradation) => d.id === step.alternativeId);
  return degradation?.quality ?? 1;
}

export interface SuccessOptions {
  /** Lease owner the write is conditioned on; null for a person's answer (status-conditioned). */
  owner: string | null;
  /** The attempt that produced it; absent when a person completed or skipped the step. */
  attempt?: AttemptInfo;
  status?: 'succeeded' | 'skipped';
  /** Event data beyond the defaults. */
  note?: Record<string, unknown>;
}

/** Returns the ids of steps that became due, or undefined when the work was lost. */
export async function recordStepSuccess(tx: FlowTx, step: StepRow, output: unknown, options: SuccessOptions): Promise<string[] | undefined> {
  const status = options.status ?? 'succeeded';
  const quality = status === 'succeeded' ? qualityOf(step) : 1;
  const attempt = options.attempt;
  const ready = await settleAndRelease(tx, step.stepId, ownedStepUpdate(
    step,
    options.owner,
    `status = $2, output = $3, quality = $4, attempt = $5, counted_attempts = $6,
     attempts_total = attempts_total + $7, finished_at = now(), run_at = NULL, due_action = NULL,
     lease_owner = NULL, lease_expires_at = NULL, task_id = NULL, correction_rerun = false,
     completion_order = CASE WHEN $2 = 'succeeded' THEN nextval('step_completion_order_seq') ELSE NULL END`,
    [
      status,
      JSON.stringify(output ?? null),
      quality,
      attempt?.number ?? step.attempt,
      step.countedAttempts + (attempt && !step.correctionRerun ? 1 : 0),
      attempt ? 1 : 0,
    ],
    ['running', 'waiting', 'scheduled'],
  ));
  if (!ready) return undefined;
  await closeEpisode(tx, step, status);
  if (attempt) {
    insertAttempt(tx, step, attempt, 'succeeded', null);
    noteFirstStart(tx, step, attempt);
  }
  tx.event(status === 'succeeded' ? 'step.succeeded' : 'step.skipped', step.stepId, {
    attempt: attempt?.number ?? null,
    alternativeId: step.alternativeId,
    strategy: step.strategy,
    quality,
    ...options.note,
  });
  if (quality < 1) tx.set({ quality: tx.flow.quality * quality });
  if (step.status === 'waiting') await refreshWaiting(tx);
  settleSteps(tx, 1);
  return ready;
}
