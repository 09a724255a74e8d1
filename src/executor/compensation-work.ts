// Runs a step's compensation (in-process kinds) or offers it to task workers,
// and records the outcome. Compensations run one at a time per flow, in
// reverse completion order; see store/transitions/compensation.ts.
import { classify, type Failure } from '../domain/classifier.js';
import { TASK_CHANNEL } from '../store/channels.js';
import type { CompensationAction } from '../store/step-row.js';
import { updateStepIfOwned, type AttemptInfo } from '../store/transitions/attempts.js';
import { recordCompensationFailure, recordCompensationSuccess } from '../store/transitions/compensation.js';
import { performAction, renderAction, type ActionResult } from './actions.js';
import { idempotencyKey, type ClaimedStep } from './claimed-step.js';
import type { WorkContext } from './work-context.js';

function compensationInfo(ctx: WorkContext, number: number, startedAt: Date, id?: string): AttemptInfo {
  return { ...(id ? { id } : {}), number, alternativeId: null, phase: 'compensate', startedAt, finishedAt: new Date(ctx.now()), executedBy: ctx.owner };
}

/** Commits a compensation attempt's result. `owner` null: a worker's answer, conditioned on status. */
export async function commitCompensation(ctx: WorkContext, step: ClaimedStep, result: ActionResult, info: AttemptInfo, owner: string | null = ctx.owner): Promise<void> {
  if (ctx.abandoned()) return;
  const error = result.ok ? undefined : classify(result.failure, ctx.patterns());
  await ctx.committer.run(step.flowId, async (tx) =>
    result.ok
      ? recordCompensationSuccess(tx, step, { attempt: info, owner })
      : recordCompensationFailure(tx, step, error!, { attempt: info, owner }, { random: ctx.random }),
  );
}

export async function runCompensation(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const action = step.config.compensate as CompensationAction | null;
  const number = step.compensationAttempt + 1;
  const startedAt = new Date(ctx.now());
  if (!action) {
    return commitCompensation(ctx, step, { ok: true, output: null }, compensationInfo(ctx, number, startedAt));
  }
  if (action.kind === 'task') return offerCompensationTask(ctx, step, action, number, startedAt);
  const result = await performAction(ctx, step, action, number, idempotencyKey(step, true), false);
  return commitCompensation(ctx, step, result, compensationInfo(ctx, number, startedAt));
}

async function offerCompensationTask(ctx: WorkContext, step: ClaimedStep, action: CompensationAction & { kind: 'task' }, number: number, startedAt: Date) {
  const rendered = await renderAction(ctx, step, action, number);
  if (!rendered.ok) return commitCompensation(ctx, step, rendered, compensationInfo(ctx, number, startedAt));
  const task = rendered.action.task;
  await ctx.committer.run(step.flowId, async (tx) => {
    const ok = await updateStepIfOwned(
      tx,
      step,
      ctx.owner,
      `due_action = 'task_wait', run_at = NULL, lease_owner = NULL, lease_expires_at = NULL, task_type = $2, task_input = $3, task_id = NULL`,
      [task.type, JSON.stringify(task.input ?? null)],
    );
    if (ok) tx.notify(TASK_CHANNEL, task.type);
  });
}

export async function timeOutCompensationTask(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const claimedAt = step.taskClaimedAt ?? step.claimedAt;
  const failure: Failure = { source: 'timeout', message: 'compensation task lease expired or timed out', code: 'ETIMEDOUT' };
  const info = compensationInfo(ctx, step.compensationAttempt + 1, claimedAt, step.taskId ?? undefined);
  await commitCompensation(ctx, step, { ok: false, failure }, info);
}
