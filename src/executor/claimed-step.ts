// A step row as the claim statement returns it: the step, its flow's fields,
// and when it was due and claimed.
import type { StepRow } from '../store/step-row.js';
import type { FlowStatus, Mode } from '../domain/statuses.js';

export interface ClaimedStep extends StepRow {
  dueAt: Date;
  claimedAt: Date;
  flowName: string;
  flowMode: Mode;
  flowStatus: FlowStatus;
  flowInput: unknown;
  flowLabels: Record<string, string>;
  flowDeadlineAt: Date | null;
  /** W3C traceparent of the flow's span, parent of attempt spans. */
  flowTraceparent: string | null;
}

/** `<flowId>:<stepId>`, `:<alternativeId>` for a fallback or degradation, `:compensate` for a compensation. */
export function idempotencyKey(step: Pick<StepRow, 'flowId' | 'stepId' | 'alternativeId'>, compensation = false): string {
  if (compensation) return `${step.flowId}:${step.stepId}:compensate`;
  return step.alternativeId ? `${step.flowId}:${step.stepId}:${step.alternativeId}` : `${step.flowId}:${step.stepId}`;
}
