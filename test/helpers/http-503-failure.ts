// An http step's attempt failing with 503, recorded through a group commit as
// the executor records it: for store tests that need a retry in its backoff.
import { classify } from '../../src/domain/classifier.js';
import { EMPTY_PATTERN_SET } from '../../src/domain/pattern-set.js';
import type { ClaimedStep } from '../../src/executor/claimed-step.js';
import type { createGroupCommitter } from '../../src/executor/group-committer.js';
import { recordStepFailure } from '../../src/store/transitions/step-failure.js';

/** Records attempt 1 of `step` (claimed by `owner`) as failed with HTTP 503; resolves what the group commit does (false when the lease was gone). */
export function fail503(committer: ReturnType<typeof createGroupCommitter>, step: ClaimedStep, owner: string): Promise<boolean | undefined> {
  const error = classify({ source: 'http', message: 'HTTP 503', httpStatus: 503 }, EMPTY_PATTERN_SET);
  const now = new Date();
  const info = { number: 1, alternativeId: null, phase: 'forward' as const, startedAt: now, finishedAt: now, executedBy: owner };
  return committer.run(step.flowId, (tx) =>
    recordStepFailure(tx, step, owner, error, info, { now, random: () => 0.5, loadBindings: () => Promise.reject(new Error('no bindings needed')) }),
  );
}
