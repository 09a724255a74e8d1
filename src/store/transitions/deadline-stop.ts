// Work about to start in a flow past its deadline (an attempt, a delay's end)
// does not start: the step fails with deadline_exceeded and the flow ends as
// the ladder's stop rung ends it (settleFailedStep), compensating as its mode
// says, all in the caller's transaction.
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';
import { updateStepIfOwned } from './attempts.js';
import { settleFailedStep } from './step-failure.js';

/** Stops the flow at `step`, whose lease `owner` holds; false when the lease was lost (the step is someone else's now). */
export async function stopAtDeadline(tx: FlowTx, step: StepRow, owner: string, reason: string): Promise<boolean> {
  const error = { errorType: 'deadline_exceeded', message: reason };
  const ok = await updateStepIfOwned(
    tx,
    step,
    owner,
    `status = 'failed', error = $2, finished_at = now(), run_at = NULL, due_action = NULL, lease_owner = NULL, lease_expires_at = NULL`,
    [JSON.stringify(error)],
  );
  if (!ok) return false;
  tx.event('recovery.decided', step.stepId, { strategy: 'stop', reason });
  await settleFailedStep(tx, step, error, 'deadline_exceeded');
  return true;
}
