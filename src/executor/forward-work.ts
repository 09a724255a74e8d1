// What the executor does with each claimed row, by due action: run an
// attempt, start or finish a delay, offer a task, open an approval, time out
// a task, expire an escalation. Every write is conditioned on the lease. In
// a flow past its deadline no attempt starts and no delay ends: the flow stops.
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { classify, type Failure } from '../domain/classifier.js';
import { deadlineReason, passedDeadline } from '../domain/deadline.js';
import { contextFromTraceparent, traceHeaders, tracer, tracingOn } from '../tracing.js';
import { isTerminalFlowStatus } from '../domain/statuses.js';
import { TASK_CHANNEL } from '../store/channels.js';
import { loadStepOutputs, type FlowTx } from '../store/flow-tx.js';
import { outputBudgetFailure, reserveOutputBytes } from '../store/output-budget.js';
import { startsRun, updateStepIfOwned, type AttemptInfo } from '../store/transitions/attempts.js';
import { stopAtDeadline } from '../store/transitions/deadline-stop.js';
import { openEscalation, refreshWaiting } from '../store/transitions/escalation-writes.js';
import { recordStepFailure, settleFailedStep } from '../store/transitions/step-failure.js';
import { recordStepSuccess } from '../store/transitions/step-success.js';
import { admit, performAction, renderAction, runnable, type ActionResult } from './actions.js';
import { idempotencyKey, type ClaimedStep } from './claimed-step.js';
import { runCompensation, timeOutCompensationTask } from './compensation-work.js';
import type { WorkContext } from './work-context.js';

export async function runDueWork(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  if (isTerminalFlowStatus(step.flowStatus) && step.dueAction !== 'compensate' && step.compensationStatus !== 'running') {
    return release(ctx, step);
  }
  // Every row that would start an attempt (claimed, fast-claimed, a retry, a task to
  // offer, an approval) or end a delay passes here: past the deadline, nothing starts.
  // The deadline came with the claim, so on time this costs one comparison.
  if ((step.dueAction === 'attempt' || step.dueAction === 'timer') && passedDeadline(step.flowDeadlineAt?.getTime() ?? null, ctx.now())) {
    return stopPastDeadline(ctx, step);
  }
  switch (step.dueAction) {
    case 'attempt':
      return startAttempt(ctx, step);
    case 'timer':
      return finishDelay(ctx, step);
    case 'task_timeout':
      return step.compensationStatus === 'running' ? timeOutCompensationTask(ctx, step) : timeOutTask(ctx, step);
    case 'escalation_timeout':
      return expireEscalation(ctx, step);
    case 'compensate':
      return runCompensation(ctx, step);
    default:
      return release(ctx, step);
  }
}

function inTx<T>(ctx: WorkContext, step: ClaimedStep, fn: (tx: FlowTx) => Promise<T>) {
  return ctx.committer.run(step.flowId, fn);
}

async function release(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  await ctx.db.query(
    `UPDATE steps SET lease_owner = NULL, lease_expires_at = NULL, run_at = NULL, due_action = NULL WHERE id = $1 AND lease_owner = $2`,
    [step.id, ctx.owner],
  );
}

async function stopPastDeadline(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const what = step.dueAction === 'timer' ? `the delay of step ${step.stepId} ended after it` : `attempt ${step.attempt + 1} of step ${step.stepId} was not started`;
  const reason = `${deadlineReason(step.flowDeadlineAt!.getTime())}; ${what}`;
  await inTx(ctx, step, (tx) => stopAtDeadline(tx, step, ctx.owner, reason));
}

function attemptInfo(ctx: WorkContext, step: ClaimedStep, number: number, startedAt: Date, id?: string): AttemptInfo {
  return { ...(id ? { id } : {}), number, alternativeId: step.alternativeId, phase: 'forward', startedAt, finishedAt: new Date(ctx.now()), executedBy: ctx.owner };
}

/** Commits an attempt's result: success, or failure through the ladder. */
export async function commitAttempt(ctx: WorkContext, step: ClaimedStep, result: ActionResult, info: AttemptInfo, owner: string | null = ctx.owner): Promise<void> {
  if (ctx.abandoned()) return;
  const classification = result.ok ? undefined : classify(result.failure, ctx.patterns());
  const admission = result.admission;
  // The breaker is shared by every flow: record on it in its own short transaction, so
  // a hot circuit row is never held while this outcome's flow is locked. Outcomes that
  // change it are applied before the step's outcome is (a flow that failed on a breaker
  // finds the breaker already counting it).
  if (admission?.admitted) await ctx.breakers.record(admission, classification?.errorType ?? null);
  if (result.ok) {
    const success = { step, output: result.output, options: { owner, attempt: info } };
    await ctx.committer.run(step.flowId, (tx) => recordStepSuccess(tx, step, success.output, success.options), success);
    return;
  }
  await inTx(ctx, step, (tx) =>
    recordStepFailure(tx, step, owner, classification!, info, {
      now: new Date(ctx.now()),
      random: ctx.random,
      ...(admission && !admission.admitted ? { rejectedBy: { key: admission.key, nextProbeAt: admission.nextProbeAt } } : {}),
      loadBindings: async (error) => ({
        input: step.flowInput,
        steps: await loadStepOutputs(tx.client, step.flowId),
        flow: { id: step.flowId, name: step.flowName, labels: step.flowLabels },
        step: { id: step.stepId, attempt: info.number },
        error,
      }),
    }),
  );
}

async function startAttempt(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const definition = step.definition;
  const number = step.attempt + 1;
  const startedAt = new Date(ctx.now());
  if (definition.kind === 'delay' || definition.kind === 'approval') {
    // Nothing to render, but a patch may have left the definition unable to run.
    const checked = runnable(definition);
    if (!checked.ok) return commitAttempt(ctx, step, checked, attemptInfo(ctx, step, number, startedAt));
  }
  switch (definition.kind) {
    case 'delay':
      return startDelay(ctx, step, definition.delayMs);
    case 'approval':
      return openApproval(ctx, step);
    case 'task':
      return offerTask(ctx, step, number, startedAt);
    default: {
      // The span covers the call, not the checkpoint: it ends before the outcome is
      // committed, so whoever the commit wakes (a flow finished by it) finds it exported.
      const span = attemptSpan(step, definition.kind, number);
      let result: ActionResult;
      try {
        result = await keptWithinBudget(ctx, step, await performAction(ctx, step, definition, number, idempotencyKey(step), true, span && traceHeaders(span)));
        if (!result.ok && span) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.failure.message.slice(0, 200) });
          if (result.failure.code) span.setAttribute('rebound.error.code', result.failure.code);
        }
      } finally {
        span?.end();
      }
      return commitAttempt(ctx, step, result, attemptInfo(ctx, step, number, startedAt));
    }
  }
}

/** The attempt's span, a child of its flow's; none without a tracer provider (every span would be a no-op). */
function attemptSpan(step: ClaimedStep, kind: string, number: number): Span | undefined {
  if (!tracingOn()) return undefined;
  return tracer().startSpan(
    `step ${step.stepId}`,
    {
      attributes: {
        'rebound.flow.id': step.flowId,
        'rebound.step.id': step.stepId,
        'rebound.step.kind': kind,
        'rebound.step.attempt': number,
        ...(step.alternativeId ? { 'rebound.step.alternative': step.alternativeId } : {}),
      },
    },
    contextFromTraceparent(step.flowTraceparent),
  );
}

/** The action's result, or the attempt's failure when its output does not fit the flow's output budget. */
async function keptWithinBudget(ctx: WorkContext, step: ClaimedStep, result: ActionResult): Promise<ActionResult> {
  if (!result.ok || result.bytes === undefined || (await reserveOutputBytes(ctx.db, step.flowId, result.bytes))) return result;
  return { ok: false, failure: outputBudgetFailure(result.bytes), ...(result.admission ? { admission: result.admission } : {}) };
}

function noteStarted(tx: FlowTx, step: ClaimedStep, data: Record<string, unknown>): void {
  if (startsRun(step)) tx.event('step.started', step.stepId, { kind: step.definition.kind, ...data });
}

async function startDelay(ctx: WorkContext, step: ClaimedStep, delayMs: number): Promise<void> {
  await inTx(ctx, step, async (tx) => {
    const ok = await updateStepIfOwned(
      tx,
      step,
      ctx.owner,
      `status = 'running', due_action = 'timer', run_at = now() + $2 * interval '1 millisecond', lease_owner = NULL, lease_expires_at = NULL`,
      [delayMs],
    );
    if (ok) noteStarted(tx, step, { delayMs });
  });
}

async function finishDelay(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const info = attemptInfo(ctx, step, step.attempt + 1, step.startedAt ?? step.claimedAt);
  await commitAttempt(ctx, step, { ok: true, output: null }, info);
}

async function offerTask(ctx: WorkContext, step: ClaimedStep, number: number, startedAt: Date): Promise<void> {
  if (step.definition.kind !== 'task') return;
  const rendered = await renderAction(ctx, step, step.definition, number);
  if (!rendered.ok) return commitAttempt(ctx, step, rendered, attemptInfo(ctx, step, number, startedAt));
  const gate = await admit(ctx, rendered.action);
  if (gate && 'ok' in gate) return commitAttempt(ctx, step, gate, attemptInfo(ctx, step, number, startedAt));
  const task = rendered.action.task;
  await inTx(ctx, step, async (tx) => {
    const ok = await updateStepIfOwned(
      tx,
      step,
      ctx.owner,
      `status = 'scheduled', due_action = 'task_wait', run_at = NULL, lease_owner = NULL, lease_expires_at = NULL,
       task_type = $2, task_input = $3, task_id = NULL, task_probe = $4`,
      [task.type, JSON.stringify(task.input ?? null), gate?.admitted && gate.probe ? JSON.stringify({ epoch: gate.epoch, slot: gate.slot }) : null],
    );
    if (!ok) return;
    noteStarted(tx, step, { taskType: task.type });
    tx.notify(TASK_CHANNEL, task.type);
  });
}

async function openApproval(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const policy = step.config.escalation;
  await inTx(ctx, step, async (tx) => {
    noteStarted(tx, step, {});
    const opened = await openEscalation(tx, {
      kind: 'approval',
      stepId: step.stepId,
      reason: `step ${step.stepId} needs approval`,
      message: policy?.message ?? null,
      error: null,
      attempts: 0,
      timeoutMs: policy?.timeoutMs ?? null,
      onTimeout: policy?.onTimeout ?? 'abort',
    });
    const ok = await updateStepIfOwned(
      tx,
      step,
      ctx.owner,
      `status = 'waiting', due_action = CASE WHEN $2::timestamptz IS NULL THEN NULL ELSE 'escalation_timeout' END,
       run_at = $2, lease_owner = NULL, lease_expires_at = NULL`,
      [opened.expiresAt],
    );
    if (!ok) throw new Error('lease lost while opening an approval');
    await refreshWaiting(tx);
  });
}

async function timeOutTask(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  const claimedAt = step.taskClaimedAt ?? step.claimedAt;
  const limit = claimedAt.getTime() + step.definition.timeoutMs;
  const failure: Failure =
    ctx.now() >= limit
      ? { source: 'timeout', message: `timeout after ${step.definition.timeoutMs} ms`, code: 'ETIMEDOUT' }
      : { source: 'timeout', message: `task lease expired (no heartbeat from worker ${step.taskWorkerId ?? 'unknown'})`, code: 'LEASE_EXPIRED' };
  const info = attemptInfo(ctx, step, step.attempt + 1, claimedAt, step.taskId ?? undefined);
  info.executedBy = step.taskWorkerId ?? ctx.owner;
  await commitAttempt(ctx, step, { ok: false, failure }, info);
}

async function expireEscalation(ctx: WorkContext, step: ClaimedStep): Promise<void> {
  await inTx(ctx, step, async (tx) => {
    const { rows } = await tx.client.query<{ id: string; onTimeout: string | null }>(
      `UPDATE escalations SET status = 'expired', resolved_at = now()
        WHERE flow_id = $1 AND step_id = $2 AND status = 'open'
        RETURNING id, on_timeout AS "onTimeout"`,
      [step.flowId, step.stepId],
    );
    const escalation = rows[0];
    if (!escalation) return release(ctx, step);
    tx.event('escalation.expired', step.stepId, { escalationId: escalation.id, onTimeout: escalation.onTimeout ?? 'abort' });
    if (escalation.onTimeout === 'skip') {
      await recordStepSuccess(tx, step, null, { owner: ctx.owner, status: 'skipped', note: { reason: 'escalation expired; onTimeout skip' } });
      return;
    }
    const error = { errorType: 'timeout', message: 'the escalation expired without an answer (onTimeout abort)' };
    const ok = await updateStepIfOwned(
      tx,
      step,
      ctx.owner,
      `status = 'failed', error = $2, finished_at = now(), run_at = NULL, due_action = NULL, lease_owner = NULL, lease_expires_at = NULL`,
      [JSON.stringify(error)],
    );
    if (!ok) return;
    await settleFailedStep(tx, step, error);
    await refreshWaiting(tx);
  });
}
