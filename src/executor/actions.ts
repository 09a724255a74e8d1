// Performs one action (a step's, an alternative's or a compensation's):
// expressions rendered first, then the kind's runner. Every problem comes
// back as a Failure for the classifier; nothing here throws.
import type { Failure } from '../domain/classifier.js';
import { ExpressionError, renderTemplate, type ExpressionBindings } from '../domain/expressions.js';
import { storableJson, storableText } from '../domain/json-text.js';
import type { Action } from '../domain/plan.js';
import { definitionProblem } from '../domain/plan-validation.js';
import { loadStepOutputs } from '../store/flow-tx.js';
import { breakerKey, type Admission } from './breaker-gate.js';
import type { ClaimedStep } from './claimed-step.js';
import { runHttpAttempt } from './runners/http-runner.js';
import type { WorkContext } from './work-context.js';

/** Largest step output stored, in bytes of JSON (1 MiB plus room for response headers). */
export const MAX_OUTPUT_BYTES = 1024 * 1024 + 64 * 1024;

/** An action's outcome; `admission` is the circuit breaker's answer when the action has one. */
/** `bytes`: the output's size as stored, when the action measured it. */
export type ActionResult = ({ ok: true; output: unknown; bytes?: number } | { ok: false; failure: Failure }) & { admission?: Admission };

/** Asks the action's breaker; a refusal is a circuit_open failure without a call. */
export async function admit(ctx: WorkContext, action: Parameters<typeof breakerKey>[0]): Promise<ActionResult | Admission | undefined> {
  const key = breakerKey(action);
  if (!key) return undefined;
  const admission = await ctx.breakers.acquire(key);
  if (admission.admitted) return admission;
  return { ok: false, failure: { source: 'circuit', message: `circuit ${key} is open`, code: 'CIRCUIT_OPEN' }, admission };
}

export async function bindingsFor(ctx: WorkContext, step: ClaimedStep, attempt: number, needsSteps: boolean): Promise<ExpressionBindings> {
  return {
    input: step.flowInput,
    steps: needsSteps ? await loadStepOutputs(ctx.db.pool, step.flowId) : {},
    flow: { id: step.flowId, name: step.flowName, labels: step.flowLabels },
    step: { id: step.stepId, attempt },
  };
}

/**
 * Evaluates the expressions of `action`, then checks what is to run: patches
 * and expressions may have written any JSON (a string timeout, a null
 * request, a file: URL). A failing expression or an action that cannot run is
 * a `validation` failure of the attempt, never an exception.
 */
export async function renderAction<T extends Action>(ctx: WorkContext, step: ClaimedStep, action: T, attempt: number): Promise<{ ok: true; action: T } | { ok: false; failure: Failure }> {
  const text = JSON.stringify(action);
  if (!text.includes('{%')) return runnable(action);
  try {
    const bindings = await bindingsFor(ctx, step, attempt, text.includes('$steps'));
    return runnable(await renderTemplate(action, bindings));
  } catch (error) {
    if (error instanceof ExpressionError) {
      return { ok: false, failure: { source: 'expression', message: `${error.path || 'expression'}: ${error.message}`, code: 'EXPRESSION', retryable: false } };
    }
    throw error;
  }
}

/** The action itself, or the attempt's failure when it cannot run as defined. */
export function runnable<T extends Action>(action: T): { ok: true; action: T } | { ok: false; failure: Failure } {
  const problem = definitionProblem(action);
  if (!problem) return { ok: true, action };
  return { ok: false, failure: { source: 'definition', message: `the step cannot run as defined: ${problem}`, code: 'INVALID_DEFINITION', retryable: false } };
}

/**
 * An output as it will be stored: at most MAX_OUTPUT_BYTES of JSON, and text
 * Postgres cannot hold (NUL, unpaired surrogates, from an upstream's answer)
 * replaced by U+FFFD.
 */
function storableOutput(output: unknown): ActionResult {
  const json = JSON.stringify(output ?? null);
  const size = Buffer.byteLength(json);
  if (size > MAX_OUTPUT_BYTES) {
    return { ok: false, failure: { source: 'internal', message: `step output of ${size} bytes exceeds the ${MAX_OUTPUT_BYTES}-byte limit`, code: 'OUTPUT_TOO_LARGE', hintType: 'validation', retryable: false } };
  }
  const storable = storableJson(json);
  return { ok: true, output: storable === json ? output : JSON.parse(storable), bytes: size };
}

/** A failure whose message and code came from an upstream, made storable. */
function storableFailure(failure: Failure): Failure {
  return { ...failure, message: storableText(failure.message), ...(failure.code !== undefined ? { code: storableText(failure.code) } : {}) };
}

/** Runs a rendered http, noop or (for compensations) delay action. */
export async function performAction(
  ctx: WorkContext,
  step: ClaimedStep,
  action: Action & { timeoutMs: number },
  attempt: number,
  idempotencyKey: string,
  /** Whether the call goes through its circuit breaker (steps yes, compensations no). */
  breakers = true,
  /** Extra request headers for `http` actions (traceparent). */
  extraHeaders: Record<string, string> = {},
): Promise<ActionResult> {
  const rendered = await renderAction(ctx, step, action, attempt);
  if (!rendered.ok) return rendered;
  const a = rendered.action;
  switch (a.kind) {
    case 'http': {
      const gate = breakers ? await admit(ctx, a) : undefined;
      if (gate && 'ok' in gate) return gate;
      const result = await runHttpAttempt(ctx.agent, { request: a.request, timeoutMs: a.timeoutMs, idempotencyKey, attempt, now: ctx.now, extraHeaders, policy: ctx.policy });
      const outcome: ActionResult = result.ok ? storableOutput(result.output) : { ok: false, failure: storableFailure(result.failure) };
      return gate ? { ...outcome, admission: gate } : outcome;
    }
    case 'noop':
      return storableOutput(a.output ?? null);
    case 'delay':
      await new Promise((r) => setTimeout(r, Math.min(a.delayMs, a.timeoutMs)));
      return { ok: true, output: null };
    default:
      return { ok: false, failure: { source: 'internal', message: `a ${a.kind} action cannot run in-process`, code: 'UNSUPPORTED', retryable: false } };
  }
}
