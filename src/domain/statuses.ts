// Every status and tag Rebound stores, listed once. The database holds these
// exact strings.

export const FLOW_STATUSES = ['pending', 'running', 'waiting', 'compensating', 'completed', 'completed_with_errors', 'failed', 'cancelled'] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];
export const TERMINAL_FLOW_STATUSES: readonly FlowStatus[] = ['completed', 'completed_with_errors', 'failed', 'cancelled'];
export const isTerminalFlowStatus = (s: string): boolean => (TERMINAL_FLOW_STATUSES as readonly string[]).includes(s);

export const STEP_STATUSES = ['pending', 'scheduled', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled', 'compensated'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const TERMINAL_STEP_STATUSES: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled', 'compensated'];
export const isTerminalStepStatus = (s: string): boolean => (TERMINAL_STEP_STATUSES as readonly string[]).includes(s);

export const MODES = ['strict', 'conditional', 'lenient'] as const;
export type Mode = (typeof MODES)[number];

export const STEP_KINDS = ['http', 'task', 'delay', 'approval', 'noop'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** What the executor does with a step row once its run_at passes. */
export const DUE_ACTIONS = ['attempt', 'timer', 'task_wait', 'task_timeout', 'escalation_timeout', 'compensate'] as const;
export type DueAction = (typeof DUE_ACTIONS)[number];

export const COMPENSATION_STATUSES = ['pending', 'running', 'succeeded', 'failed'] as const;
export type CompensationStatus = (typeof COMPENSATION_STATUSES)[number];

export const ERROR_TYPES = [
  'timeout',
  'network',
  'rate_limited',
  'unavailable',
  'circuit_open',
  'validation',
  'auth',
  'not_found',
  'conflict',
  'resource_exhausted',
  'quality',
  'internal',
  'unknown',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical', 'fatal'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STRATEGIES = ['retry', 'correct', 'fallback', 'degrade', 'escalate', 'none'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The rungs a step's `strategy` field can name. */
export type AppliedStrategy = Exclude<Strategy, 'none'>;

export const ESCALATION_KINDS = ['recovery', 'approval', 'compensation'] as const;
export type EscalationKind = (typeof ESCALATION_KINDS)[number];
export const ESCALATION_STATUSES = ['open', 'resolved', 'expired'] as const;
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number];
export const ESCALATION_ACTIONS = ['retry', 'skip', 'abort', 'complete'] as const;
export type EscalationAction = (typeof ESCALATION_ACTIONS)[number];

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/**
 * The member of `values` equal to `value`: the source's own (internalized)
 * constant instead of a copy read from outside, or `value` if none is equal.
 */
export function canonical<T extends string>(values: readonly T[], value: T): T {
  for (const v of values) if (v === value) return v;
  return value;
}
