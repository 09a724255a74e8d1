// One executor's execution slots: the step work in flight by row id, slots
// held for claims whose rows have not started yet, and the slots a settled
// step passes to the steps it releases. At most `concurrency` steps run at
// once, counting all three (see free()).
import type { SettlingStep } from '../store/flow-tx.js';

/** Work on a step as its row was claimed (run and attempt count). */
export interface InflightWork {
  work: Promise<void>;
  run: number;
  attempt: number;
  /** Its slot has passed to the steps its success releases. */
  handedOver?: boolean;
  /** A later run or attempt of its step took its place while it ran: it still holds its slot. */
  superseded?: boolean;
}

export function createExecutionSlots(concurrency: number) {
  const inflight = new Map<string, InflightWork>();
  /** Slots held for claims (the loop's or a commit's) whose rows have not started yet. */
  let held = 0;
  /** In-flight work whose slot has been handed over (it holds none). */
  let handedOver = 0;
  /** Work still running whose entry a later run or attempt of its step replaced. */
  let superseded = 0;

  const free = () => concurrency - (inflight.size - handedOver) - superseded - held;

  function forget(id: string, entry: InflightWork): void {
    inflight.delete(id);
    if (entry.handedOver) handedOver--;
  }

  return {
    /** Slots neither running nor held. */
    free,
    /** Holds `n` slots for a claim out or rows not started yet. */
    hold(n: number): void {
      held += n;
    },
    /** Returns `n` held slots (their rows started, or will not). */
    release(n: number): void {
      held -= n;
    },
    /**
     * Holds up to `n` slots for the steps a transaction may release: first
     * the slots of the work on `settling` (a settled step's work only waits
     * for its commit now, so free() is unchanged), then free ones. Only the
     * work that claimed a step as it is settled hands over: the same row in
     * a later run or attempt is other work. Returns how many it holds.
     */
    holdForReleased(n: number, settling: readonly SettlingStep[]): number {
      let got = 0;
      for (const step of settling) {
        if (got >= n) break;
        const work = inflight.get(step.id);
        if (!work || work.handedOver || work.run !== step.run || work.attempt !== step.attempt) continue;
        work.handedOver = true;
        handedOver++;
        held++;
        got++;
      }
      const more = Math.max(0, Math.min(n - got, free()));
      held += more;
      return got + more;
    },
    /** Whether this process is already working on `step` as claimed (same run and attempt). */
    working(step: SettlingStep): boolean {
      const current = inflight.get(step.id);
      return current?.attempt === step.attempt && current.run === step.run;
    },
    /**
     * Records the work `start` begins on `step` and forgets it when it ends.
     * Work on an earlier run or attempt of the row keeps its slot until it
     * ends too (unless it handed it over).
     */
    track(step: SettlingStep, start: () => Promise<void>, ended: () => void): void {
      const entry: InflightWork = { work: Promise.resolve(), run: step.run, attempt: step.attempt };
      entry.work = start().finally(() => {
        if (inflight.get(step.id) === entry) forget(step.id, entry);
        else if (entry.superseded) superseded--;
        ended();
      });
      const current = inflight.get(step.id);
      if (current) {
        forget(step.id, current);
        if (!current.handedOver) {
          current.superseded = true;
          superseded++;
        }
      }
      inflight.set(step.id, entry);
    },
    /** Steps in flight (their slots handed over or not). */
    size: () => inflight.size,
    /** Row ids of the steps in flight. */
    ids: () => [...inflight.keys()],
    /** The work in flight. */
    works: () => [...inflight.values()].map((w) => w.work),
  };
}

export type ExecutionSlots = ReturnType<typeof createExecutionSlots>;
