// Recovery episodes for statistics: from a step's first failure to its
// resolution, recorded when the step settles, with the last rung applied.
import { uuidv7 } from '../uuid-v7.js';
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';

/**
 * Records the episode of a step that recovered (or gave up) now; it is
 * written with the flow's other changes. Steps that never failed have none.
 */
export function closeEpisode(tx: FlowTx, step: StepRow, outcome: 'succeeded' | 'skipped' | 'failed'): void {
  if (step.strategy === null || step.firstFailureAt === null) return;
  tx.episodes.push({
    id: uuidv7(),
    flow_id: step.flowId,
    step_id: step.stepId,
    strategy: step.strategy,
    error_type: step.firstErrorType ?? 'unknown',
    attempts: step.attemptsTotal,
    outcome,
    started_at: step.firstFailureAt.toISOString(),
  });
  tx.fact({ kind: 'episode', strategy: step.strategy, outcome, durationMs: Date.now() - step.firstFailureAt.getTime() });
}
