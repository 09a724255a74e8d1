// Wires the fast path into a FlowTx: steps the transaction makes due are
// claimed by this executor in the same statement that releases them
// (capacity permitting) and started as soon as the transaction commits.
import { isTerminalFlowStatus } from '../domain/statuses.js';
import type { FlowTx, SettlingStep } from '../store/flow-tx.js';
import type { StepRow } from '../store/step-row.js';
import type { ClaimedStep } from './claimed-step.js';

export interface FastClaimOptions {
  owner: string;
  leaseMs: number;
  /**
   * Reserves up to `n` execution slots; returns how many it got. The slots of
   * the in-flight work on the steps `settling` (settled by this transaction)
   * count first.
   */
  reserve(n: number, settling: readonly SettlingStep[]): number;
  /** Returns reserved slots that will not be used. */
  release(n: number): void;
  /** Starts a claimed step (its slot reservation becomes an in-flight execution). */
  launch(step: ClaimedStep): void;
}

export function enableFastClaim(tx: FlowTx, o: FastClaimOptions): void {
  tx.readyClaimer = {
    owner: o.owner,
    leaseMs: o.leaseMs,
    reserve(n, settling = []) {
      const slots = o.reserve(n, settling);
      let held = slots;
      // Held slots go back to the free ones if the transaction rolls back (once, however often the hooks run);
      // a slot handed over stays with the free ones, so a retry of the outcome alone takes a free one.
      if (slots > 0) {
        tx.afterRollback.push(() => {
          o.release(held);
          held = 0;
        });
      }
      return {
        slots,
        accept(rows: (StepRow & { dueAt: Date; claimedAt: Date })[]) {
          if (rows.length < slots) o.release(slots - rows.length);
          held = rows.length;
          if (rows.length === 0) return;
          const f = tx.flow;
          // The rows are the statement's own: the flow's fields are added to each in place rather than to a copy of it (most steps start this way).
          const claimed: ClaimedStep[] = rows.map((r) =>
            Object.assign(r, {
              flowName: f.name,
              flowMode: f.mode,
              flowStatus: f.status,
              flowInput: f.input,
              flowLabels: f.labels,
              flowDeadlineAt: f.deadlineAt,
              flowTraceparent: f.traceparent,
            }),
          );
          tx.afterCommit.push(() => {
            // A later outcome in the same transaction may have ended the flow (its steps cancelled): start nothing then.
            if (isTerminalFlowStatus(tx.flow.status) || tx.flow.status === 'compensating') {
              o.release(claimed.length);
              return;
            }
            for (const step of claimed) o.launch(step);
          });
        },
      };
    },
  };
}
