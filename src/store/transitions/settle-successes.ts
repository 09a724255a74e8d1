// The statement every success goes through: steps settled, their dependents
// released and, capacity permitting, claimed for this executor. The group
// commit runs it once for all the successes of a batch; recordStepSuccess
// runs it for one when no batch did.
import type { FlowTx, SettlingStep } from '../flow-tx.js';
import { prepared } from '../prepared.js';
import { SETTLE_SUCCESSES } from '../sql/settle-successes.js';
import type { StepRow } from '../step-row.js';
import { noteDelayParked, startsRun, type AttemptInfo } from './attempts.js';

export interface SuccessOptions {
  /** Lease owner the write is conditioned on; null for a person's answer (status-conditioned). */
  owner: string | null;
  /** The attempt that produced it; absent when a person completed or skipped the step. */
  attempt?: AttemptInfo;
  status?: 'succeeded' | 'skipped';
  /** Event data beyond the defaults. */
  note?: Record<string, unknown>;
}

/** A success to settle: the step (as claimed), its output, and how it came about. */
export interface Success {
  step: StepRow;
  output: unknown;
  options: SuccessOptions;
}

/** Quality of the alternative a step kept: its degradation's, else 1. */
export function qualityOf(step: Pick<StepRow, 'alternativeId' | 'config'>): number {
  const degradation = step.config.degradations.find((d) => d.id === step.alternativeId);
  return degradation?.quality ?? 1;
}

/** The quality a success records: its alternative's when it succeeded, 1 when skipped. */
export function successQuality(s: Success): number {
  return (s.options.status ?? 'succeeded') === 'succeeded' ? qualityOf(s.step) : 1;
}

type ReleasedRow = StepRow & { settled: string | null; ready: boolean; claimed: boolean; parked: boolean; dueAt: Date; claimedAt: Date };

/**
 * Settles `successes` (each under its FlowTx, all on one connection) with one
 * statement, and records in each FlowTx whether its steps settled
 * (`tx.settledSuccesses`). Dependents that became due are claimed with the
 * capacity the FlowTx's readyClaimer lends, else announced with workDue().
 * Dependents that are delays are parked on their timers by the same statement.
 */
export async function settleSuccesses(all: { tx: FlowTx; success: Success }[]): Promise<void> {
  // One outcome per step: a step run twice by this process (its lease lapsed and it was
  // claimed again) settles with the outcome recorded first; the other finds it settled.
  const seen = new Set<string>();
  const entries = all.filter(({ success }) => !seen.has(success.step.id) && seen.add(success.step.id));
  if (entries.length === 0) return;
  const client = entries[0]!.tx.client;
  const flows = new Map<FlowTx, { dependents: number; settling: SettlingStep[] }>();
  for (const { tx, success } of entries) {
    const flow = flows.get(tx) ?? { dependents: 0, settling: [] };
    // A dependent delay is parked, not claimed: it needs no slot.
    flow.dependents += tx.graph.filter((s) => !s.delay && s.dependsOn.includes(success.step.stepId)).length;
    flow.settling.push(success.step);
    flows.set(tx, flow);
  }
  // A slot for every dependent that is not a delay, ready or not (only the statement knows): the unused ones go back as soon as it answers.
  // The settling steps' own slots come first: a flow's next step takes its predecessor's slot, even when every slot is busy
  // (unless a rollback made that slot a free one).
  const reservations = new Map(
    [...flows].map(([tx, { dependents, settling }]) => [tx.flow.id, { tx, reservation: dependents > 0 ? tx.readyClaimer?.reserve(dependents, settling) : undefined }]),
  );
  const claimer = [...flows.keys()].find((tx) => tx.readyClaimer)?.readyClaimer;
  const payload = entries.map(({ tx, success: { step, output, options } }) => {
    const status = options.status ?? 'succeeded';
    const attempt = options.attempt;
    return {
      id: step.id,
      flow_id: tx.flow.id,
      step_id: step.stepId,
      owner: options.owner,
      status,
      output: output ?? null,
      quality: successQuality({ step, output, options }),
      attempt: attempt?.number ?? step.attempt,
      counted: step.countedAttempts + (attempt && !step.correctionRerun ? 1 : 0),
      inc: attempt ? 1 : 0,
      slots: reservations.get(tx.flow.id)?.reservation?.slots ?? 0,
      run: step.run,
    };
  });
  const { rows } = await client.query<ReleasedRow>(prepared(SETTLE_SUCCESSES, [JSON.stringify(payload), claimer?.owner ?? null, claimer?.leaseMs ?? 0]));
  const settled = new Set(rows[0]?.settled?.split(',') ?? []);
  const released = rows.filter((r) => r.id !== null);
  for (const [flowId, { tx, reservation }] of reservations) {
    const mine = released.filter((r) => r.flowId === flowId);
    reservation?.accept(mine.filter((r) => r.claimed));
    // A delay parked on release has started; its event follows its predecessors' success.
    for (const r of mine) {
      if (r.parked && startsRun(r) && r.definition.kind === 'delay') {
        noteDelayParked(tx, r.stepId, r.definition.delayMs);
      }
    }
    if (mine.some((r) => r.ready && !r.claimed) && !tx.readyClaimer) tx.workDue();
  }
  for (const { tx, success } of entries) tx.settledSuccesses.set(success.step.id, settled.has(success.step.id));
}
