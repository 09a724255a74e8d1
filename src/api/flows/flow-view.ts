// Maps stored flows to their API shape: ISO times, the steps with their
// attempt history, the flow output built from succeeded steps.
import type { AttemptRow, FlowDetails } from '../../store/flow-repository.js';
import { redactSecrets } from '../redaction.js';
import type { FlowRow } from '../../store/flow-tx.js';
import type { NormalizedPlan } from '../../domain/plan.js';
import type { StepRow } from '../../store/step-row.js';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function flowSummaryView(flow: FlowRow & { createdBy: string | null }) {
  return {
    id: flow.id,
    name: flow.name,
    mode: flow.mode,
    status: flow.status,
    input: flow.input,
    quality: flow.quality,
    labels: flow.labels,
    error: flow.error,
    createdBy: flow.createdBy,
    createdAt: flow.createdAt.toISOString(),
    startedAt: iso(flow.startedAt),
    finishedAt: iso(flow.finishedAt),
    deadlineAt: iso(flow.deadlineAt),
    traceId: flow.traceId,
  };
}

function stepView(step: StepRow, attempts: AttemptRow[]) {
  return {
    id: step.stepId,
    kind: step.kind,
    status: step.status,
    critical: step.critical,
    dependsOn: step.dependsOn,
    attempts: step.attemptsTotal,
    strategy: step.strategy,
    alternativeId: step.alternativeId,
    quality: step.quality,
    output: step.output,
    error: step.error,
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
    compensation: step.compensationStatus ? { status: step.compensationStatus, error: step.compensationError } : null,
    history: attempts.map((a) => ({
      phase: a.phase as 'forward' | 'compensate',
      number: a.number,
      alternativeId: a.alternativeId,
      outcome: a.outcome as 'succeeded' | 'failed',
      error: a.error,
      executedBy: a.executedBy,
      startedAt: a.startedAt.toISOString(),
      finishedAt: a.finishedAt.toISOString(),
      durationMs: a.durationMs,
    })),
  };
}

/** The view of a flow just created, built from what was written (no read back). */
export function newFlowView(
  plan: NormalizedPlan,
  created: { flowId: string; createdAt: Date; steps: { stepId: string; status: string }[] },
  meta: { createdBy: string | null; traceId: string | null },
) {
  const createdAt = created.createdAt.toISOString();
  const status = new Map(created.steps.map((s) => [s.stepId, s.status]));
  return redactSecrets({
    id: created.flowId,
    name: plan.name,
    mode: plan.mode,
    status: 'running' as const,
    input: plan.input,
    quality: 1,
    labels: plan.labels,
    error: null,
    createdBy: meta.createdBy,
    createdAt,
    startedAt: createdAt,
    finishedAt: null,
    deadlineAt: plan.deadlineMs === null ? null : new Date(created.createdAt.getTime() + plan.deadlineMs).toISOString(),
    traceId: meta.traceId,
    output: {},
    steps: plan.steps.map((s) => ({
      id: s.id,
      kind: s.primary.kind,
      status: (status.get(s.id) ?? 'pending') as StepRow['status'],
      critical: s.critical,
      dependsOn: s.dependsOn,
      attempts: 0,
      strategy: null,
      alternativeId: null,
      quality: null,
      output: null,
      error: null,
      // A root delay is parked on its timer (running) by the creation itself.
      startedAt: status.get(s.id) === 'running' ? createdAt : null,
      finishedAt: null,
      compensation: null,
      history: [],
    })),
  });
}

export function flowDetailsView(details: FlowDetails) {
  return redactSecrets(detailsView(details));
}

function detailsView(details: FlowDetails) {
  const byStep = new Map<string, AttemptRow[]>();
  for (const a of details.attempts) byStep.set(a.stepId, [...(byStep.get(a.stepId) ?? []), a]);
  const output: Record<string, unknown> = {};
  for (const step of details.steps) if (step.status === 'succeeded') output[step.stepId] = step.output;
  return {
    ...flowSummaryView(details.flow),
    output,
    steps: details.steps.map((s) => stepView(s, byStep.get(s.stepId) ?? [])),
  };
}
