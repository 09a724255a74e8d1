// What a step's final failure does to its flow, per atomic mode.
import type { Mode } from './statuses.js';

export type FailureConsequence = 'fail_flow' | 'tolerate';

/**
 * strict: every failure fails the flow. conditional: only critical failures
 * do; non-critical ones are tolerated (dependents skipped). lenient: every
 * failure is tolerated and nothing is compensated.
 */
export function failureConsequence(mode: Mode, critical: boolean): FailureConsequence {
  if (mode === 'lenient') return 'tolerate';
  if (mode === 'conditional' && !critical) return 'tolerate';
  return 'fail_flow';
}

/** `cancel`'s compensate default: true in strict and conditional, false in lenient. */
export function defaultCancelCompensates(mode: Mode): boolean {
  return mode !== 'lenient';
}

/** The status a flow ends with once every step settled. */
export function settledFlowStatus(stepsFailed: number): 'completed' | 'completed_with_errors' {
  return stepsFailed > 0 ? 'completed_with_errors' : 'completed';
}
