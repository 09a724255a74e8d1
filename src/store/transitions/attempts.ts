// Attempt records and the lease-conditioned step update every outcome starts with.
import { uuidv7 } from '../uuid-v7.js';
import type { FlowTx } from '../flow-tx.js';
import { prepared } from '../prepared.js';
import type { StepRow } from '../step-row.js';

export interface AttemptInfo {
  /** attempts.id; a task attempt reuses its task id so late answers can be recognised. */
  id?: string;
  /** X-Rebound-Attempt of this attempt. */
  number: number;
  alternativeId: string | null;
  phase: 'forward' | 'compensate';
  startedAt: Date;
  finishedAt: Date;
  /** Replica or worker that ran it. */
  executedBy: string;
}

/** Records an attempt; it is written with the flow's other changes when the transaction finishes. */
export function insertAttempt(tx: FlowTx, step: StepRow, info: AttemptInfo, outcome: 'succeeded' | 'failed', error: unknown): void {
  tx.attempts.push({
    id: info.id ?? uuidv7(),
    step_row_id: step.id,
    flow_id: step.flowId,
    step_id: step.stepId,
    phase: info.phase,
    alternative_id: info.alternativeId,
    number: info.number,
    outcome,
    error: error === undefined ? null : error,
    executed_by: info.executedBy,
    started_at: info.startedAt.toISOString(),
    finished_at: info.finishedAt.toISOString(),
    duration_ms: Math.max(0, Math.round(info.finishedAt.getTime() - info.startedAt.getTime())),
    // The rung that caused this attempt (set when it was scheduled).
    strategy: info.phase === 'forward' ? step.strategy : null,
  });
  const kind = info.phase === 'forward' ? step.definition.kind : (step.config.compensate?.kind ?? step.definition.kind);
  tx.fact({ kind: 'attempt', stepKind: kind, outcome, durationMs: info.finishedAt.getTime() - info.startedAt.getTime() });
}

/** A statement and its values. */
export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * `UPDATE steps SET <sets> WHERE id = $1` conditioned on `owner` still
 * holding the lease (or, with owner null, on the step being in one of
 * `statuses`).
 */
export function ownedStepUpdate(step: StepRow, owner: string | null, sets: string, values: unknown[], statuses: string[] = []): Statement {
  // An owner's write also names the run it read: the same process may hold a restarted step's new lease.
  const guard = owner !== null ? `lease_owner = $${values.length + 2} AND run = $${values.length + 3}` : `status = ANY($${values.length + 2})`;
  return { text: `UPDATE steps SET ${sets}, updated_at = now() WHERE id = $1 AND ${guard}`, values: [step.id, ...values, ...(owner !== null ? [owner, step.run] : [statuses])] };
}

/**
 * Runs `ownedStepUpdate`. Returns false when the condition no longer holds:
 * the work was lost.
 */
export async function updateStepIfOwned(
  tx: FlowTx,
  step: StepRow,
  owner: string | null,
  sets: string,
  values: unknown[],
  statuses: string[] = [],
): Promise<boolean> {
  const update = ownedStepUpdate(step, owner, sets, values, statuses);
  const result = await tx.client.query(prepared(update.text, update.values));
  return result.rowCount === 1;
}

/** The data of a delay's `step.started` event. */
export function delayStartedData(delayMs: number): { kind: 'delay'; delayMs: number } {
  return { kind: 'delay', delayMs };
}

/** A delay parked by the statement that released it has started: its event follows the rest of the transaction's. */
export function noteDelayParked(tx: FlowTx, stepId: string, delayMs: number): void {
  tx.eventLater('step.started', stepId, delayStartedData(delayMs));
}

/**
 * Whether the step's next attempt is its first in this run of the flow: no
 * attempt of the primary yet and no recovery in play. A restart resets all
 * three, so the re-run step is logged as started again; attempts_total keeps
 * counting across runs.
 */
export function startsRun(step: Pick<StepRow, 'attempt' | 'strategy' | 'alternativeId'>): boolean {
  return step.attempt === 0 && step.strategy === null && step.alternativeId === null;
}

/**
 * The `step.started` event of http and noop steps, written with their first
 * outcome (no extra transaction on the hot path) and dated when the attempt
 * began. Delay, task and approval steps write theirs when they start waiting.
 */
export function noteFirstStart(tx: FlowTx, step: StepRow, info: AttemptInfo): void {
  const kind = step.config.primary.kind;
  if (info.phase === 'forward' && startsRun(step) && (kind === 'http' || kind === 'noop')) {
    tx.event('step.started', step.stepId, { kind: step.definition.kind }, info.startedAt);
  }
}
