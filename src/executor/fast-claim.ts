// Wires the fast path into a FlowTx: steps the transaction makes due are
// claimed by this executor in the same transaction (capacity permitting) and
// started as soon as it commits.
import type { FlowTx } from '../store/flow-tx.js';
import { prepared } from '../store/prepared.js';
import { CLAIM_READY_STEPS } from '../store/sql/claim-ready-steps.js';
import type { StepRow } from '../store/step-row.js';
import type { ClaimedStep } from './claimed-step.js';

export interface FastClaimOptions {
  owner: string;
  leaseMs: number;
  /** Reserves up to `n` execution slots; returns how many it got. */
  reserve(n: number): number;
  /** Returns reserved slots that will not be used. */
  release(n: number): void;
  /** Starts a claimed step (its slot reservation becomes an in-flight execution). */
  launch(step: ClaimedStep): void;
}

export function enableFastClaim(tx: FlowTx, o: FastClaimOptions): void {
  tx.claimReady = async (stepIds) => {
    const slots = o.reserve(stepIds.length);
    if (slots === 0) return; // the claim loop picks them up (it looks again after every completion)
    let held = slots;
    tx.afterRollback.push(() => o.release(held));
    const { rows } = await tx.client.query<StepRow & { dueAt: Date; claimedAt: Date }>(prepared(CLAIM_READY_STEPS, [tx.flow.id, stepIds.slice(0, slots), o.owner, o.leaseMs]));
    if (rows.length < slots) o.release(slots - rows.length);
    held = rows.length;
    if (rows.length === 0) return;
    const f = tx.flow;
    const claimed: ClaimedStep[] = rows.map((r) => ({
      ...r,
      flowName: f.name,
      flowMode: f.mode,
      flowStatus: f.status,
      flowInput: f.input,
      flowLabels: f.labels,
      flowDeadlineAt: f.deadlineAt,
      flowTraceparent: f.traceparent,
    }));
    tx.afterCommit.push(() => {
      for (const step of claimed) o.launch(step);
    });
  };
}
