// Due timers fired in bulk: the delay steps due now succeed in one
// transaction with a few statements, however many there are, and without an
// execution slot each. A burst of timers then fires on time even while the
// executor is busy with the work they release. Only plain timers (no
// alternative, no recovery in play) of live flows within their deadline go
// this way; any other timer is left to the claim loop, which handles every case.
// Several firings may run at once: each locks timers and flows the others
// have not (LOCK_DUE_TIMERS).
import { uuidv7 } from './uuid-v7.js';
import { passedDeadline } from '../domain/deadline.js';
import { isTerminalFlowStatus } from '../domain/statuses.js';
import type { Database, TransactionOptions } from './database.js';
import { FLOW_COLUMNS, FlowTx, type FlowRow } from './flow-tx.js';
import { finishAll } from './flow-writes.js';
import { prepared } from './prepared.js';
import { ANY_DUE_TIMER, FIRE_TIMERS, lockDueTimers } from './sql/fire-timers.js';
import { noteDelayParked } from './transitions/attempts.js';
import { settleSteps } from './transitions/flow-progress.js';

export interface FiredTimers {
  /** Due timers this firing locked (fired, or left to the claim loop). */
  locked: number;
  /** Timers fired. */
  fired: number;
  /** Steps their firing made due. */
  released: number;
  /** How late each fired, in ms (its firing's commit time minus its due time). */
  lateMs: number[];
}

/**
 * The flow fields firing a timer reads (status, counters, event seq, notify):
 * the plan and the input, the largest, stay unread.
 */
const TIMER_FLOW_COLUMNS = FLOW_COLUMNS.replace('input, labels, plan,', 'NULL AS input, labels, NULL AS plan,');
export const LOCK_DUE_TIMERS = lockDueTimers(TIMER_FLOW_COLUMNS);

/** How a firing's transaction is opened (see TransactionOptions). */
export const FIRING_TRANSACTION: TransactionOptions = { genericPlans: true, orderedScans: true };

interface FiredRow {
  id: string;
  flowId: string;
  stepId: string;
  attempt: number;
  startedAt: Date | null;
  dueAt: Date;
  released: number;
  /** On the first row: the dependents parked on their own timers (delays) whose start is news. */
  parked: { flowId: string; stepId: string; delayMs: number }[] | null;
}

export interface FiringOptions {
  /** The executor's clock (epoch ms), against which deadlines are checked. */
  nowMs?: number;
  /** Hears how many due timers the firing holds, once it holds them: a firing started after that takes others. */
  onLocked?: (timers: number) => void;
}

/** Whether any timer fireDueTimers would take is due: one statement, no transaction. */
export async function anyDueTimer(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ due: boolean }>(prepared(ANY_DUE_TIMER, []));
  return rows[0]?.due ?? false;
}

/** Fires up to `limit` due timers; `executedBy` is recorded as their attempts' executor. */
export async function fireDueTimers(db: Database, executedBy: string, limit: number, options: FiringOptions = {}): Promise<FiredTimers> {
  const { nowMs = Date.now(), onLocked } = options;
  let txs = new Map<string, FlowTx>();
  let fired: FiredRow[] = [];
  let locked = 0;
  await db.transaction(async (client) => {
    const { rows } = await client.query<FlowRow & { timerIds: string[] }>(prepared(LOCK_DUE_TIMERS, [limit]));
    txs = new Map(rows.map(({ timerIds: _, ...flow }) => [flow.id, new FlowTx(client, flow, 'executor')]));
    locked = rows.reduce((n, row) => n + row.timerIds.length, 0);
    onLocked?.(locked);
    // A flow past its deadline releases nothing: its timer is left to the claim loop,
    // which stops the flow instead of ending the delay (forward-work.ts).
    const live = rows
      .filter((row) => !isTerminalFlowStatus(row.status) && !passedDeadline(row.deadlineAt?.getTime() ?? null, nowMs))
      .flatMap((row) => row.timerIds);
    fired = [];
    if (live.length === 0) return;
    fired = (await client.query<FiredRow>(prepared(FIRE_TIMERS, [live]))).rows;
    const now = new Date();
    for (const row of fired) record(txs.get(row.flowId)!, row, executedBy, now);
    for (const p of fired[0]?.parked ?? []) {
      const tx = txs.get(p.flowId);
      if (tx) noteDelayParked(tx, p.stepId, p.delayMs);
    }
    await finishAll(client, [...txs.values()]);
  }, FIRING_TRANSACTION);
  const committedAt = Date.now();
  for (const tx of txs.values()) {
    db.facts.emit(tx.facts);
    for (const hook of tx.afterCommit) hook();
  }
  return {
    locked,
    fired: fired.length,
    released: fired[0]?.released ?? 0,
    lateMs: fired.map((row) => Math.max(0, committedAt - row.dueAt.getTime())),
  };
}

/** What the step's one attempt would have recorded: the attempt, its event, the flow's progress. */
function record(tx: FlowTx, row: FiredRow, executedBy: string, now: Date): void {
  const startedAt = row.startedAt ?? row.dueAt;
  const durationMs = Math.max(0, now.getTime() - startedAt.getTime());
  tx.attempts.push({
    id: uuidv7(),
    step_row_id: row.id,
    flow_id: row.flowId,
    step_id: row.stepId,
    phase: 'forward',
    alternative_id: null,
    number: row.attempt,
    outcome: 'succeeded',
    error: null,
    executed_by: executedBy,
    started_at: startedAt.toISOString(),
    finished_at: now.toISOString(),
    duration_ms: durationMs,
    strategy: null,
  });
  tx.fact({ kind: 'attempt', stepKind: 'delay', outcome: 'succeeded', durationMs });
  tx.event('step.succeeded', row.stepId, { attempt: row.attempt, alternativeId: null, strategy: null, quality: 1 });
  settleSteps(tx, 1);
}
