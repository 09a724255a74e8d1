// A step that succeeded (or was completed or skipped by a person): output
// checkpointed, dependents released, the flow settled when it was the last.
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';
import { insertAttempt, noteFirstStart } from './attempts.js';
import { refreshWaiting } from './escalation-writes.js';
import { settleSteps } from './flow-progress.js';
import { closeEpisode } from './recovery-episodes.js';
import { settleSuccesses, successQuality, type SuccessOptions } from './settle-successes.js';

/**
 * Records the success; returns false when the work was lost (the lease or
 * the step's status no longer allowed it). When the group commit already
 * settled it set-wise, only the rest is done here.
 */
export async function recordStepSuccess(tx: FlowTx, step: StepRow, output: unknown, options: SuccessOptions): Promise<boolean> {
  const success = { step, output, options };
  if (!tx.settledSuccesses.has(step.id)) await settleSuccesses([{ tx, success }]);
  const settled = tx.settledSuccesses.get(step.id) === true;
  tx.settledSuccesses.delete(step.id);
  if (!settled) return false;
  const status = options.status ?? 'succeeded';
  const quality = successQuality(success);
  const attempt = options.attempt;
  closeEpisode(tx, step, status);
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
  return true;
}
