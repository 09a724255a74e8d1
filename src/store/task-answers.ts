// A worker's answer to a task (complete or fail), applied under the flow lock
// only while the worker's lease on that exact task id is still valid.
import { classify, type Failure } from '../domain/classifier.js';
import type { PatternSet } from '../domain/pattern-set.js';
import { loadStepOutputs, runFlowTx, type FlowTx } from './flow-tx.js';
import type { Database } from './database.js';
import { STEP_COLUMNS, type StepRow } from './step-row.js';
import type { AttemptInfo } from './transitions/attempts.js';
import { recordTaskBreakerOutcome } from './task-breaker.js';
import { recordCompensationFailure, recordCompensationSuccess } from './transitions/compensation.js';
import { recordStepFailure } from './transitions/step-failure.js';
import { recordStepSuccess } from './transitions/step-success.js';
import { outputBudgetFailure, outputBytes, reserveOutputBytes } from './output-budget.js';

export type TaskAnswer = { ok: true; output: unknown } | { ok: false; failure: Failure };
export type AnswerResult = 'accepted' | 'lease_lost' | 'unknown';

/**
 * 'lease_lost' for a task id that existed (its lease expired, it was answered,
 * or a restart superseded it), 'unknown' otherwise. Only refused answers ask:
 * three primary- or unique-key probes, off the accepted path.
 */
export async function unknownOrLost(db: Database, taskId: string): Promise<Exclude<AnswerResult, 'accepted'>> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM steps WHERE task_id = $1
     UNION ALL SELECT 1 FROM attempts WHERE id = $1
     UNION ALL SELECT 1 FROM superseded_tasks WHERE task_id = $1
     LIMIT 1`,
    [taskId],
  );
  return rowCount ? 'lease_lost' : 'unknown';
}

async function lockLiveTask(tx: FlowTx, taskId: string): Promise<(StepRow & { taskClaimedAt: Date }) | undefined> {
  const { rows } = await tx.client.query<StepRow & { taskClaimedAt: Date }>(
    `SELECT ${STEP_COLUMNS('s')} FROM steps s
      WHERE s.task_id = $1 AND s.lease_owner = 'task:' || $1 AND s.lease_expires_at > now() FOR UPDATE`,
    [taskId],
  );
  return rows[0];
}

export async function answerTask(
  db: Database,
  taskId: string,
  answer: TaskAnswer,
  deps: { patterns: () => PatternSet; now: () => number; random: () => number },
): Promise<AnswerResult> {
  const { rows } = await db.query<{ flowId: string }>(`SELECT flow_id AS "flowId" FROM steps WHERE task_id = $1`, [taskId]);
  if (!rows[0]) return unknownOrLost(db, taskId);
  const owner = `task:${taskId}`;
  const accepted = await runFlowTx(db, rows[0].flowId, async (tx) => {
    const step = await lockLiveTask(tx, taskId);
    if (!step) return false;
    const compensating = step.compensationStatus === 'running';
    const info: AttemptInfo = {
      id: taskId,
      number: (compensating ? step.compensationAttempt : step.attempt) + 1,
      alternativeId: compensating ? null : step.alternativeId,
      phase: compensating ? 'compensate' : 'forward',
      startedAt: step.taskClaimedAt,
      finishedAt: new Date(deps.now()),
      executedBy: step.taskWorkerId ?? 'worker',
    };
    // A worker's output that would take the flow past its output budget is the attempt's failure.
    if (answer.ok && !compensating) {
      const bytes = outputBytes(answer.output);
      if (!(await reserveOutputBytes(tx.client, tx.flow.id, bytes))) answer = { ok: false, failure: outputBudgetFailure(bytes) };
    }
    const error = answer.ok ? undefined : classify(answer.failure, deps.patterns());
    if (!compensating) await recordTaskBreakerOutcome(tx.client, step.definition, step.taskProbe, error?.errorType ?? null, deps.now());
    if (answer.ok) {
      if (compensating) return recordCompensationSuccess(tx, step, { attempt: info, owner });
      return recordStepSuccess(tx, step, answer.output, { owner, attempt: info });
    }
    if (compensating) return recordCompensationFailure(tx, step, error!, { attempt: info, owner }, { random: deps.random });
    return recordStepFailure(tx, step, owner, error!, info, {
      now: new Date(deps.now()),
      random: deps.random,
      loadBindings: async (e) => ({
        input: tx.flow.input,
        steps: await loadStepOutputs(tx.client, tx.flow.id),
        flow: { id: tx.flow.id, name: tx.flow.name, labels: tx.flow.labels },
        step: { id: step.stepId, attempt: info.number },
        error: e,
      }),
    });
  });
  return accepted ? 'accepted' : 'lease_lost';
}
