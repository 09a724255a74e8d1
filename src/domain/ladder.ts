// The recovery ladder as one pure function: given a step's state, the
// classified error, its policy and the breaker's view, decide the next move.
// Rungs in DESIGN order: stop, correct, retry, fallback, degrade, escalate, fail.
import { nextBackoffDelay } from './backoff.js';
import type { Classification } from './classifier.js';
import { deadlineReason, passedDeadline } from './deadline.js';
import { matchesWhen } from './error-matcher.js';
import type { Alternative, Degradation, ExecutableDefinition, NormalizedStep } from './plan.js';

/** How long a step may wait for an open breaker when maxRecoveryTimeMs is unset, in ms. */
export const DEFAULT_CIRCUIT_WAIT_MS = 5 * 60_000;

export interface StepRecoveryState {
  config: NormalizedStep;
  /** The definition of the alternative that just failed. */
  current: ExecutableDefinition;
  alternativeId: string | null;
  /** Index of the next fallback / degradation to consider. */
  fallbackIndex: number;
  degradationIndex: number;
  /** Attempts of the current alternative counted against maxAttempts, the failed one included. */
  countedAttempts: number;
  /** Times each correction rule (by index) was applied. */
  correctionsUsed: Record<string, number>;
  /** Start of this recovery episode, epoch ms; the current failure when it is the first. */
  firstFailureAt: number;
  previousDelayMs: number | undefined;
}

export interface FlowView {
  cancelled: boolean;
  /** Epoch ms, or null without a deadline. */
  deadlineAt: number | null;
}

export interface BreakerView {
  /** Epoch ms when the open breaker admits probes again. */
  nextProbeAt: number;
}

export type Decision =
  | { strategy: 'stop'; reason: string; error: 'cancelled' | 'deadline_exceeded' }
  | { strategy: 'correct'; reason: string; correctionIndex: number; patch: Record<string, unknown> }
  | { strategy: 'retry'; reason: string; delayMs: number; previousDelayMs: number }
  | { strategy: 'wait_circuit'; reason: string; delayMs: number }
  | { strategy: 'fallback'; reason: string; index: number; alternative: Alternative }
  | { strategy: 'degrade'; reason: string; index: number; degradation: Degradation }
  | { strategy: 'escalate'; reason: string }
  | { strategy: 'fail'; reason: string };

export interface LadderInput {
  step: StepRecoveryState;
  error: Classification;
  flow: FlowView;
  /** Present when the failure is an open breaker. */
  breaker?: BreakerView | undefined;
  now: number;
  random: () => number;
}

const PATTERN_SKIPS_RETRY = new Set(['fallback', 'degrade', 'escalate']);

function stop({ flow, now }: LadderInput): Decision | undefined {
  if (flow.cancelled) return { strategy: 'stop', reason: 'the flow was cancelled', error: 'cancelled' };
  if (passedDeadline(flow.deadlineAt, now)) return { strategy: 'stop', reason: deadlineReason(flow.deadlineAt!), error: 'deadline_exceeded' };
  return undefined;
}

function correct({ step, error }: LadderInput): Decision | undefined {
  for (const [index, rule] of step.config.corrections.entries()) {
    const used = step.correctionsUsed[String(index)] ?? 0;
    if (used < rule.maxTimes && matchesWhen(rule.when, error)) {
      return { strategy: 'correct', reason: `correction ${index} matches ${error.errorType} (used ${used + 1} of ${rule.maxTimes})`, correctionIndex: index, patch: rule.patch };
    }
  }
  return undefined;
}

function recoveryDeadline(step: StepRecoveryState): number | null {
  return step.config.maxRecoveryTimeMs === null ? null : step.firstFailureAt + step.config.maxRecoveryTimeMs;
}

function retry(input: LadderInput): Decision | { skip: string } {
  const { step, error, now, random } = input;
  const policy = step.current.retry;
  if (!error.retryable) return { skip: `${error.errorType} is not retryable` };
  if (policy.retryOn && !policy.retryOn.includes(error.errorType)) return { skip: `${error.errorType} is not in retryOn` };
  if (step.countedAttempts >= policy.maxAttempts) return { skip: `${step.countedAttempts} of ${policy.maxAttempts} attempts used` };
  if (error.pattern && PATTERN_SKIPS_RETRY.has(error.recommendedStrategy)) {
    return { skip: `pattern ${error.pattern.id} recommends ${error.recommendedStrategy}` };
  }
  const backoff = nextBackoffDelay(policy, step.countedAttempts, step.previousDelayMs, random);
  let delayMs = backoff.delayMs;
  let why = `${policy.backoff} backoff`;
  if (policy.respectRetryAfter && error.retryAfterMs !== null && error.retryAfterMs > delayMs) {
    delayMs = error.retryAfterMs;
    why = 'Retry-After';
  }
  const limit = recoveryDeadline(step);
  if (limit !== null && now + delayMs >= limit) return { skip: `a retry in ${delayMs} ms would pass maxRecoveryTimeMs` };
  return {
    strategy: 'retry',
    reason: `${error.errorType} is retryable; attempt ${step.countedAttempts + 1} of ${policy.maxAttempts} in ${delayMs} ms (${why})`,
    delayMs,
    previousDelayMs: backoff.previousDelayMs,
  };
}

function fallback({ step, error }: LadderInput): Decision | undefined {
  for (let index = step.fallbackIndex; index < step.config.fallbacks.length; index++) {
    const alternative = step.config.fallbacks[index]!;
    if (matchesWhen(alternative.when, error)) {
      return { strategy: 'fallback', reason: `falling back to ${alternative.id} after ${error.errorType}`, index, alternative };
    }
  }
  return undefined;
}

function degrade({ step, error }: LadderInput): Decision | undefined {
  for (let index = step.degradationIndex; index < step.config.degradations.length; index++) {
    const degradation = step.config.degradations[index]!;
    if (matchesWhen(degradation.when, error)) {
      return { strategy: 'degrade', reason: `degrading to ${degradation.id} (quality ${degradation.quality}) after ${error.errorType}`, index, degradation };
    }
  }
  return undefined;
}

function waitForCircuit(input: LadderInput): Decision | undefined {
  const { step, breaker, now } = input;
  if (!breaker) return undefined;
  const limit = step.firstFailureAt + (step.config.maxRecoveryTimeMs ?? DEFAULT_CIRCUIT_WAIT_MS);
  const delayMs = Math.max(0, breaker.nextProbeAt - now);
  if (now + delayMs >= limit) return undefined;
  return { strategy: 'wait_circuit', reason: `circuit open; waiting ${delayMs} ms for it to half-open (no attempt spent)`, delayMs };
}

/** The next move for a failed attempt. Always terminates: every rung is bounded. */
export function decide(input: LadderInput): Decision {
  const stopped = stop(input);
  if (stopped) return stopped;
  const skipped: string[] = [];
  if (input.error.errorType === 'circuit_open') {
    const next = fallback(input) ?? waitForCircuit(input);
    if (next) return next;
    skipped.push('circuit open and no wait allowed');
  } else {
    const corrected = correct(input);
    if (corrected) return corrected;
    const retried = retry(input);
    if ('strategy' in retried) return retried;
    skipped.push(retried.skip);
    const fellBack = fallback(input);
    if (fellBack) return fellBack;
  }
  const degraded = degrade(input);
  if (degraded) return degraded;
  if (input.step.config.escalation?.enabled) {
    return { strategy: 'escalate', reason: `no automatic recovery left (${skipped.join('; ')}); asking a person` };
  }
  return { strategy: 'fail', reason: `no recovery left: ${skipped.join('; ')}` };
}
