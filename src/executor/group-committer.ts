// Group commit for the executor: outcomes that finish at about the same time
// are written in one transaction (one WAL flush for many steps). Each outcome
// still locks its own flow and gets its own FlowTx; a batch that fails is
// retried one outcome per transaction, so one bad outcome never blocks others.
// Successes announced with the outcome are settled set-wise first, by one
// statement for the whole batch, before any outcome's function runs.
import type pg from 'pg';
import type { Database } from '../store/database.js';
import { FLOW_COLUMNS, type FlowTx } from '../store/flow-tx.js';
import { openFlowTxs } from '../store/flow-tx-batch.js';
import { finishAll } from '../store/flow-writes.js';
import { createStepGraphCache } from '../store/step-graphs.js';
import { settleSuccesses, type Success } from '../store/transitions/settle-successes.js';

interface Pending<T> {
  flowId: string;
  fn: (tx: FlowTx) => Promise<T>;
  /** The success `fn` records, settled with the batch's others. */
  success: Success | undefined;
  resolve: (value: T | undefined) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitterOptions {
  db: Database;
  /** Outcomes per transaction at most. Defaults to 64. */
  maxBatch?: number;
  /** Transactions in flight at once (database connections). Defaults to 6. */
  maxParallel?: number;
  /** Called for each FlowTx before its outcome runs (the executor's fast claim). */
  prepare?: (tx: FlowTx) => void;
}

export function createGroupCommitter(options: GroupCommitterOptions) {
  const maxBatch = options.maxBatch ?? 64;
  const maxParallel = options.maxParallel ?? 6;
  const queue: Pending<unknown>[] = [];
  // Plans are read once per flow; after that only their graphs are needed.
  const graphs = createStepGraphCache();
  let running = 0;
  let scheduled = false;
  let idle: (() => void) | undefined;

  async function commitBatch(batch: Pending<unknown>[]): Promise<void> {
    // One lock order for every batch: fewer deadlocks between parallel batches. Within
    // a flow, successes first: they are written first (set-wise), so recorded first.
    batch.sort((a, b) => (a.flowId < b.flowId ? -1 : a.flowId > b.flowId ? 1 : Number(!a.success) - Number(!b.success)));
    let txs = new Map<string, FlowTx>();
    const rollback = () => {
      for (const tx of txs.values()) for (const hook of tx.afterRollback) hook();
    };
    try {
      const results = await options.db.transaction(async (client: pg.PoolClient) => {
        // A transient failure retries the whole batch: undo what the previous try reserved.
        rollback();
        txs = new Map(); // undone: if opening the new ones fails, nothing is undone twice
        txs = await openFlowTxs(client, batch.map((item) => item.flowId), FLOW_COLUMNS, graphs);
        for (const tx of txs.values()) {
          options.prepare?.(tx);
          // Alone, an outcome writes its retry at once (a lost lease is answered exactly).
          tx.deferRetries = batch.length > 1;
        }
        await settleSuccesses(batch.flatMap((item) => {
          const tx = txs.get(item.flowId);
          return tx && item.success ? [{ tx, success: item.success }] : [];
        }));
        const out: unknown[] = [];
        // Outcomes of one flow share its FlowTx (one lock, consecutive event seqs).
        for (const item of batch) {
          const tx = txs.get(item.flowId);
          out.push(tx ? await item.fn(tx) : undefined);
        }
        await finishAll(client, [...txs.values()]);
        return out;
      }, { genericPlans: true });
      for (const tx of txs.values()) {
        options.db.facts.emit(tx.facts);
        for (const hook of tx.afterCommit) hook();
      }
      for (const [i, item] of batch.entries()) item.resolve(results[i]);
    } catch (error) {
      rollback();
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // Find the culprit: every outcome alone.
      for (const item of batch) await commitBatch([item]);
    }
  }

  function pump(): void {
    scheduled = false;
    while (running < maxParallel && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      running++;
      void commitBatch(batch).finally(() => {
        running--;
        if (queue.length > 0) pump();
        else if (running === 0) idle?.();
      });
    }
  }

  return {
    /**
     * Runs `fn` under the flow's lock in the next group transaction; undefined
     * when the flow is gone. `success`: the success `fn` records with
     * recordStepSuccess, settled set-wise with the batch's others.
     */
    run<T>(flowId: string, fn: (tx: FlowTx) => Promise<T>, success?: Success): Promise<T | undefined> {
      return new Promise<T | undefined>((resolve, reject) => {
        queue.push({ flowId, fn, success, resolve, reject } as Pending<unknown>);
        if (!scheduled) {
          scheduled = true;
          // Outcomes that finish in the same turn of the event loop share a transaction.
          setImmediate(pump);
        }
      });
    },
    /** Resolves when nothing is queued or being written. */
    drained(): Promise<void> {
      if (queue.length === 0 && running === 0) return Promise.resolve();
      return new Promise((r) => (idle = r));
    },
  };
}

export type GroupCommitter = ReturnType<typeof createGroupCommitter>;
