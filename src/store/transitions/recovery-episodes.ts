// Recovery episodes for statistics: from a step's first failure to its
// resolution, recorded when the step settles, with the last rung applied.
import { v7 as uuidv7 } from 'uuid';
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';

/** Records the episode of a step that recovered (or gave up) now. Steps that never failed have none. */
export async function closeEpisode(tx: FlowTx, step: StepRow, outcome: 'succeeded' | 'skipped' | 'failed'): Promise<void> {
  if (step.strategy === null || step.firstFailureAt === null) return;
  await tx.client.query(
    `INSERT INTO recovery_episodes (id, flow_id, step_id, strategy, error_type, attempts, outcome, started_at, ended_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
    [uuidv7(), step.flowId, step.stepId, step.strategy, step.firstErrorType ?? 'unknown', step.attemptsTotal, outcome, step.firstFailureAt],
  );
  tx.fact({ kind: 'episode', strategy: step.strategy, outcome, durationMs: Date.now() - step.firstFailureAt.getTime() });
}
