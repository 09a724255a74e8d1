// The normalized plan the executor works from: defaults merged into every
// step and alternative, dependencies resolved, retry policies complete.
import { resolveDependencies } from './dependency-graph.js';
import type {
  Compensation,
  Correction,
  EscalationPolicy,
  HttpRequestSpec,
  Plan,
  RetryPolicyInput,
  StepDefinition,
  When,
} from './plan-schema.js';
import type { ErrorType, Mode } from './statuses.js';

export interface RetryPolicy {
  maxAttempts: number;
  backoff: 'constant' | 'linear' | 'exponential' | 'fibonacci' | 'decorrelated';
  baseDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: 'none' | 'full' | 'equal' | 'decorrelated';
  /** Error types worth retrying; undefined means every retryable type. */
  retryOn: ErrorType[] | undefined;
  respectRetryAfter: boolean;
}

/** DESIGN's defaults: 3 attempts, exponential, 1000 ms base, x2, 10000 ms cap, full jitter. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  backoff: 'exponential',
  baseDelayMs: 1000,
  maxDelayMs: 10000,
  multiplier: 2,
  jitter: 'full',
  retryOn: undefined,
  respectRetryAfter: true,
};

/** Per-attempt timeout when neither the step nor `defaults` sets one, in ms. */
export const DEFAULT_TIMEOUT_MS = 10000;

/** What an attempt does. */
export type Action =
  | { kind: 'http'; request: HttpRequestSpec }
  | { kind: 'task'; task: { type: string; input?: unknown } }
  | { kind: 'delay'; delayMs: number }
  | { kind: 'approval' }
  | { kind: 'noop'; output?: unknown };

/** An action with the policy its attempts run under. */
export type ExecutableDefinition = Action & {
  timeoutMs: number;
  retry: RetryPolicy;
  /** Explicit breaker key; undefined derives http:<host> / task:<type>. */
  circuitBreaker?: string;
};

export type Alternative = ExecutableDefinition & { id: string; when?: When };
export type PatchDegradation = { id: string; when?: When; quality: number; patch: Record<string, unknown> };
export type Degradation = PatchDegradation | (Alternative & { quality: number });

export interface NormalizedStep {
  id: string;
  position: number;
  dependsOn: string[];
  critical: boolean;
  primary: ExecutableDefinition;
  corrections: (Correction & { maxTimes: number })[];
  fallbacks: Alternative[];
  degradations: Degradation[];
  escalation: EscalationPolicy | null;
  maxRecoveryTimeMs: number | null;
  compensate: (Action & { timeoutMs: number }) | null;
}

/** How long the step waits when its primary is a `delay`, else null: such a step is parked on its timer as soon as it is due. */
export function primaryDelayMs(step: Pick<NormalizedStep, 'primary'>): number | null {
  return step.primary.kind === 'delay' ? step.primary.delayMs : null;
}

export interface NormalizedPlan {
  name: string;
  mode: Mode;
  input: unknown;
  labels: Record<string, string>;
  deadlineMs: number | null;
  notify: { url: string; events: string[] } | null;
  steps: NormalizedStep[];
}

type Defaults = NonNullable<Plan['defaults']>;

function resolveRetry(...layers: (RetryPolicyInput | undefined)[]): RetryPolicy {
  const merged: RetryPolicy = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** The kind-specific part of a step-like definition. */
export function actionOf(def: { kind: string } & Record<string, unknown>): Action {
  switch (def.kind) {
    case 'http':
      return { kind: 'http', request: def.request as HttpRequestSpec };
    case 'task':
      return { kind: 'task', task: def.task as { type: string; input?: unknown } };
    case 'delay':
      return { kind: 'delay', delayMs: def.delayMs as number };
    case 'approval':
      return { kind: 'approval' };
    default:
      return def.output === undefined ? { kind: 'noop' } : { kind: 'noop', output: def.output };
  }
}

function executable(def: { kind: string } & Record<string, unknown>, defaults: Defaults, retry: RetryPolicyInput | undefined): ExecutableDefinition {
  const circuitBreaker = (def.circuitBreaker as string | undefined) ?? defaults.circuitBreaker;
  return {
    ...actionOf(def),
    timeoutMs: (def.timeoutMs as number | undefined) ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: resolveRetry(defaults.retry, retry),
    ...(circuitBreaker ? { circuitBreaker } : {}),
  };
}

function normalizeStep(step: StepDefinition, position: number, dependsOn: string[], defaults: Defaults): NormalizedStep {
  const escalation = step.escalation ?? defaults.escalation;
  const compensate: Compensation | undefined = step.compensate;
  return {
    id: step.id,
    position,
    dependsOn,
    critical: step.critical ?? defaults.critical ?? true,
    primary: executable(step, defaults, step.retry),
    corrections: (step.corrections ?? defaults.corrections ?? []).map((c) => ({ ...c, maxTimes: c.maxTimes ?? 1 })),
    fallbacks: (step.fallbacks ?? defaults.fallbacks ?? []).map((f) => ({
      ...executable(f, defaults, f.retry),
      id: f.id,
      ...(f.when ? { when: f.when } : {}),
    })),
    degradations: (step.degradations ?? defaults.degradations ?? []).map((d): Degradation => {
      if ('patch' in d) return d;
      return { ...executable(d, defaults, d.retry), id: d.id, quality: d.quality, ...(d.when ? { when: d.when } : {}) };
    }),
    escalation: escalation ?? null,
    maxRecoveryTimeMs: step.maxRecoveryTimeMs ?? defaults.maxRecoveryTimeMs ?? null,
    compensate: compensate
      ? { ...actionOf(compensate), timeoutMs: compensate.timeoutMs ?? step.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS }
      : null,
  };
}

/** Merges defaults and resolves dependencies. Assumes the plan passed validatePlan. */
export function normalizePlan(plan: Plan): NormalizedPlan {
  const defaults = plan.defaults ?? {};
  const graph = resolveDependencies(plan.steps);
  return {
    name: plan.name,
    mode: plan.mode,
    input: plan.input ?? {},
    labels: plan.labels ?? {},
    deadlineMs: plan.deadlineMs ?? null,
    notify: plan.notify ? { url: plan.notify.url, events: plan.notify.events ?? ['flow.completed', 'flow.failed', 'escalation.created'] } : null,
    steps: plan.steps.map((step, i) => normalizeStep(step, i, graph[i]!.dependsOn, defaults)),
  };
}
