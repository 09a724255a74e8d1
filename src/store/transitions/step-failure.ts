// A failed attempt: classified, run through the recovery ladder, and the
// decision written with the attempt and its events in the same transaction.
import { failureConsequence } from '../../domain/atomic-modes.js';
import type { Classification } from '../../domain/classifier.js';
import { ExpressionError, renderTemplate, type ExpressionBindings } from '../../domain/expressions.js';
import { decide, type BreakerView, type Decision } from '../../domain/ladder.js';
import { applyPatch } from '../../domain/patch.js';
import type { Alternative, Degradation, ExecutableDefinition } from '../../domain/plan.js';
import { isTerminalFlowStatus } from '../../domain/statuses.js';
import type { FlowTx } from '../flow-tx.js';
import type { StepRow } from '../step-row.js';
import { insertAttempt, noteFirstStart, updateStepIfOwned, type AttemptInfo } from './attempts.js';
import { openEscalation, refreshWaiting } from './escalation-writes.js';
import { endFlow, settleSteps, skipDependents } from './flow-progress.js';
import { closeEpisode } from './recovery-episodes.js';

export interface FailureContext {
  now: Date;
  random: () => number;
  /** Outputs of the flow's steps, for expressions in patches ($steps). */
  loadBindings: (error: Classification) => Promise<ExpressionBindings>;
  breaker?: BreakerView;
  /** Set when no attempt was made: the step's breaker was open. */
  rejectedBy?: { key: string; nextProbeAt: number };
}

/** The classified error as stored on steps, attempts and events. */
export function errorRecord(error: Classification): Record<string, unknown> {
  return { ...error };
}

function stripAlternative(alt: Alternative | (Alternative & { quality: number })): ExecutableDefinition {
  const { id: _id, when: _when, ...definition } = alt as Alternative & { quality?: number };
  delete (definition as { quality?: number }).quality;
  return definition as ExecutableDefinition;
}

async function degradedDefinition(step: StepRow, d: Degradation, bindings: () => Promise<ExpressionBindings>): Promise<ExecutableDefinition> {
  if ('patch' in d) return applyPatch(step.config.primary, await renderTemplate(d.patch, await bindings()));
  return stripAlternative(d);
}

/**
 * The definition a correction or a degradation runs next, its patch rendered
 * (expressions see $error) and applied; undefined for other decisions.
 */
async function nextDefinition(step: StepRow, d: Decision, ctx: FailureContext, error: Classification): Promise<ExecutableDefinition | undefined> {
  if (d.strategy === 'correct') return applyPatch(step.definition, await renderTemplate(d.patch, await ctx.loadBindings(error)));
  if (d.strategy === 'degrade') return degradedDefinition(step, d.degradation, () => ctx.loadBindings(error));
  return undefined;
}

/** Records a failed attempt and applies the ladder's decision. False when the work was lost. */
export async function recordStepFailure(
  tx: FlowTx,
  step: StepRow,
  owner: string | null,
  error: Classification,
  attempt: AttemptInfo,
  ctx: FailureContext,
): Promise<boolean> {
  const rejected = ctx.rejectedBy;
  tx.fact({ kind: 'classified', errorType: error.errorType, severity: error.severity });
  const counted = rejected ? step.countedAttempts : step.countedAttempts + (step.correctionRerun ? 0 : 1);
  const firstFailureAt = step.firstFailureAt ?? attempt.finishedAt;
  let decision = decide({
    step: {
      config: step.config,
      current: step.definition,
      alternativeId: step.alternativeId,
      fallbackIndex: step.fallbackIndex,
      degradationIndex: step.degradationIndex,
      countedAttempts: counted,
      correctionsUsed: step.correctionsUsed,
      firstFailureAt: firstFailureAt.getTime(),
      previousDelayMs: step.lastDelayMs ?? undefined,
    },
    error,
    flow: { cancelled: tx.flow.status === 'cancelled', deadlineAt: tx.flow.deadlineAt?.getTime() ?? null },
    breaker: rejected ? { nextProbeAt: rejected.nextProbeAt } : ctx.breaker,
    now: ctx.now.getTime(),
    random: ctx.random,
  });
  let definition: ExecutableDefinition | undefined;
  try {
    definition = await nextDefinition(step, decision, ctx, error);
  } catch (problem) {
    if (!(problem instanceof ExpressionError)) throw problem;
    // A patch whose expressions fail cannot be applied: the step fails, saying why.
    decision = { strategy: 'fail', reason: `${decision.reason}, but its patch could not be evaluated (${problem.path || 'patch'}: ${problem.message})` };
  }
  const base = { number: rejected ? step.attempt : attempt.number, counted, firstFailureAt, error: errorRecord(error), attempts: rejected ? 0 : 1 };
  const ok = await applyDecision(tx, step, owner, decision, base, definition);
  if (!ok) return false;
  if (['retry', 'wait_circuit', 'correct', 'fallback', 'degrade'].includes(decision.strategy)) tx.workDue();
  if (rejected) {
    tx.event('circuit.rejected', step.stepId, { key: rejected.key, nextProbeAt: new Date(rejected.nextProbeAt).toISOString(), alternativeId: step.alternativeId });
  } else {
    insertAttempt(tx, step, attempt, 'failed', base.error);
    noteFirstStart(tx, step, attempt);
    tx.event('attempt.failed', step.stepId, { attempt: attempt.number, alternativeId: attempt.alternativeId, error: base.error }, attempt.finishedAt);
  }
  const delayMs = 'delayMs' in decision ? decision.delayMs : undefined;
  tx.event('recovery.decided', step.stepId, { strategy: decision.strategy, ...(delayMs !== undefined ? { delayMs } : {}), reason: decision.reason });
  await followUp(tx, step, decision, error);
  return true;
}

interface FailureBase {
  number: number;
  counted: number;
  firstFailureAt: Date;
  error: Record<string, unknown>;
  /** Attempts this failure adds to attempts_total (0 when the breaker refused the call). */
  attempts: number;
}

/** The step-row write of each decision, conditioned on the lease. */
async function applyDecision(
  tx: FlowTx,
  step: StepRow,
  owner: string | null,
  d: Decision,
  b: FailureBase,
  /** What a correction or degradation runs next (nextDefinition). */
  definition: ExecutableDefinition | undefined,
): Promise<boolean> {
  const common = `attempt = $2, counted_attempts = $3, first_failure_at = $4, error = $5, attempts_total = attempts_total + $6,
                  first_error_type = COALESCE(first_error_type, $5::jsonb->>'errorType'),
                  lease_owner = NULL, lease_expires_at = NULL, task_id = NULL`;
  // A new alternative starts its own attempt counters.
  const fresh = d.strategy === 'fallback' || d.strategy === 'degrade';
  const values: unknown[] = [fresh ? 0 : b.number, fresh ? 0 : b.counted, b.firstFailureAt, JSON.stringify(b.error), b.attempts];
  const write = (sets: string, more: unknown[] = []) => updateStepIfOwned(tx, step, owner, `${common}, ${sets}`, [...values, ...more], ['running', 'waiting', 'scheduled']);
  const rerunNow = `status = 'scheduled', due_action = 'attempt', run_at = now()`;
  switch (d.strategy) {
    case 'retry':
      // Only while the flow runs: a flow that ended (or is compensating) has cancelled its
      // running steps, so the write would find its lease gone and split the whole batch.
      if (tx.deferRetries && owner !== null && !isTerminalFlowStatus(tx.flow.status) && tx.flow.status !== 'compensating') {
        tx.retries.push({
          id: step.id,
          owner,
          attempt: b.number,
          counted: b.counted,
          first_failure_at: b.firstFailureAt.toISOString(),
          error: b.error,
          inc: b.attempts,
          run: step.run,
          delay_ms: d.delayMs,
          last_delay_ms: d.previousDelayMs ?? null,
        });
        return true;
      }
      return write(
        `status = 'scheduled', due_action = 'attempt', run_at = now() + $7 * interval '1 millisecond',
         correction_rerun = false, last_delay_ms = $8, strategy = 'retry'`,
        [d.delayMs, d.previousDelayMs],
      );
    case 'wait_circuit':
      return write(`status = 'scheduled', due_action = 'attempt', run_at = now() + $7 * interval '1 millisecond'`, [d.delayMs]);
    case 'correct': {
      const used = { ...step.correctionsUsed, [d.correctionIndex]: (step.correctionsUsed[d.correctionIndex] ?? 0) + 1 };
      return write(`${rerunNow}, definition = $7, corrections_used = $8, correction_rerun = true, strategy = 'correct'`, [JSON.stringify(definition), JSON.stringify(used)]);
    }
    case 'fallback':
      return write(
        `${rerunNow}, definition = $7, alternative_id = $8, fallback_index = $9,
         correction_rerun = false, last_delay_ms = NULL, strategy = 'fallback'`,
        [JSON.stringify(stripAlternative(d.alternative)), d.alternative.id, d.index + 1],
      );
    case 'degrade': {
      return write(
        `${rerunNow}, definition = $7, alternative_id = $8, degradation_index = $9,
         correction_rerun = false, last_delay_ms = NULL, strategy = 'degrade'`,
        [JSON.stringify(definition), d.degradation.id, d.index + 1],
      );
    }
    case 'escalate':
      return write(`status = 'waiting', due_action = NULL, run_at = NULL, strategy = 'escalate'`);
    case 'stop':
    case 'fail':
      return write(`status = 'failed', finished_at = now(), run_at = NULL, due_action = NULL`);
  }
}

/** What a decision does beyond the step row: escalations, flow consequences. */
async function followUp(tx: FlowTx, step: StepRow, d: Decision, error: Classification): Promise<void> {
  if (d.strategy === 'escalate') {
    const policy = step.config.escalation!;
    const opened = await openEscalation(tx, {
      kind: 'recovery',
      stepId: step.stepId,
      reason: d.reason,
      message: policy.message ?? null,
      error: errorRecord(error),
      attempts: step.attemptsTotal + 1,
      timeoutMs: policy.timeoutMs ?? null,
      onTimeout: policy.onTimeout ?? 'abort',
    });
    if (opened.expiresAt) {
      await tx.client.query(`UPDATE steps SET due_action = 'escalation_timeout', run_at = $2 WHERE id = $1`, [step.id, opened.expiresAt]);
    }
    await refreshWaiting(tx);
    return;
  }
  if (d.strategy === 'stop' || d.strategy === 'fail') {
    const stepError = d.strategy === 'stop' ? { ...errorRecord(error), errorType: d.error, message: d.reason } : errorRecord(error);
    await settleFailedStep(tx, step, stepError, d.strategy === 'stop' ? d.error : undefined);
  }
}

/**
 * A step that finally failed: tolerated (dependents skipped) or the end of
 * the flow, as its atomic mode says. A passed deadline always ends the flow.
 */
export async function settleFailedStep(tx: FlowTx, step: StepRow, stepError: Record<string, unknown>, stop?: 'cancelled' | 'deadline_exceeded'): Promise<void> {
  tx.event('step.failed', step.stepId, { error: stepError });
  closeEpisode(tx, step, 'failed');
  if (stop === 'cancelled') return;
  if (stop === 'deadline_exceeded') {
    await endFlow(tx, { errorType: 'deadline_exceeded', message: 'the flow passed its deadline', stepId: step.stepId }, { compensate: tx.flow.mode !== 'lenient', final: 'failed' });
    return;
  }
  if (failureConsequence(tx.flow.mode, step.critical) === 'tolerate') {
    tx.set({ stepsFailed: tx.flow.stepsFailed + 1 });
    const skipped = await skipDependents(tx, [step.stepId], `dependency ${step.stepId} failed`);
    if (step.status === 'waiting') await refreshWaiting(tx);
    settleSteps(tx, 1 + skipped);
    return;
  }
  const message = typeof stepError.message === 'string' ? stepError.message : 'step failed';
  await endFlow(tx, { errorType: String(stepError.errorType ?? 'unknown'), message: `step ${step.stepId} failed: ${message}`, stepId: step.stepId }, { compensate: true, final: 'failed' });
}
