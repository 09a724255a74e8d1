// A transaction on one flow. Opening it locks the flow row (FOR UPDATE), which
// serialises every state change of that flow: completions of parallel steps,
// cancel, restart, escalation answers. Lock order is always flow, then steps.
// Events get consecutive per-flow sequence numbers from the locked row; the
// flow's changed fields and the events are written by finish().
import type pg from 'pg';
import type { GraphNode } from '../domain/dependency-graph.js';
import type { NormalizedPlan } from '../domain/plan.js';
import { isTerminalFlowStatus, type FlowStatus, type Mode } from '../domain/statuses.js';
import { uuidv7 } from './uuid-v7.js';
import { FLOW_CHANNEL, WEBHOOK_CHANNEL, WORK_CHANNEL } from './channels.js';
import type { StepRow } from './step-row.js';
import { graphOf } from './step-graphs.js';
import { finishAll } from './flow-writes.js';
import type { AttemptRecord, EpisodeRecord, RetryRecord } from './outcome-records.js';
import type { TransitionFact } from './transition-facts.js';

export interface FlowRow {
  id: string;
  name: string;
  mode: Mode;
  status: FlowStatus;
  input: unknown;
  labels: Record<string, string>;
  /** Null when not read (the executor knew the flow's graph already, or its transitions need none). */
  plan: NormalizedPlan | null;
  quality: number;
  error: unknown;
  notify: { url: string; events: string[] } | null;
  deadlineAt: Date | null;
  eventSeq: number;
  stepsRemaining: number;
  stepsFailed: number;
  traceId: string | null;
  traceparent: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A step being settled, as its work claimed it: the same row id in a later run or attempt is other work. */
export type SettlingStep = Pick<StepRow, 'id' | 'run' | 'attempt'>;

/** Execution capacity the executor lends a transaction for the steps it makes due. */
export interface ReadyClaimer {
  owner: string;
  leaseMs: number;
  /**
   * Reserves up to `n` slots; `accept` takes the rows actually claimed with
   * them. `settling`: the steps this transaction settles, as they were
   * claimed; where this executor's work on one of them holds a slot, that
   * slot passes to the steps it releases before any free one is taken.
   */
  reserve(n: number, settling?: readonly SettlingStep[]): { slots: number; accept(rows: (StepRow & { dueAt: Date; claimedAt: Date })[]): void };
}

export const FLOW_COLUMNS = `id, name, mode, status, input, labels, plan, quality, error, notify,
  deadline_at AS "deadlineAt", event_seq AS "eventSeq", steps_remaining AS "stepsRemaining",
  steps_failed AS "stepsFailed", trace_id AS "traceId", traceparent, created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt"`;

export interface PendingEvent {
  type: string;
  stepId?: string | null | undefined;
  data: Record<string, unknown>;
  at?: Date | undefined;
}

type FlowPatch = Partial<Pick<FlowRow, 'status' | 'quality' | 'error' | 'stepsRemaining' | 'stepsFailed' | 'finishedAt' | 'input'>>;


export class FlowTx {
  readonly events: (PendingEvent & { seq: number })[] = [];
  /** Attempts recorded in this transaction. */
  readonly attempts: AttemptRecord[] = [];
  /** Recovery episodes closed in this transaction. */
  readonly episodes: EpisodeRecord[] = [];
  /**
   * Set by the group commit for a batch of several outcomes: a failure the
   * ladder retries has its step write deferred to `retries`, written with
   * the batch's other changes by one statement. If any of them lost its
   * lease meanwhile, that statement fails the batch, and the group commit
   * runs each outcome alone (without deferral) to settle it exactly.
   */
  deferRetries = false;
  /** Retries deferred to finishAll (see deferRetries). */
  readonly retries: RetryRecord[] = [];
  /**
   * Successes already settled set-wise, e.g. by the group commit (step row
   * id to whether it settled; false when the lease was lost):
   * recordStepSuccess finds its statement's answer here.
   */
  readonly settledSuccesses = new Map<string, boolean>();
  private patch: FlowPatch = {};
  private readonly later: PendingEvent[] = [];
  /** Called after commit, e.g. to wake the local executor. */
  readonly afterCommit: (() => void)[] = [];
  /** Called when the transaction rolls back (to return reserved executor capacity). */
  readonly afterRollback: (() => void)[] = [];
  /**
   * Set by the executor: steps this transaction makes due are claimed for
   * this process in the statement that releases them (no claim transaction).
   */
  readyClaimer?: ReadyClaimer;
  readonly notifications = new Map<string, string>();
  /** What this transaction did, reported to the metrics after commit. */
  readonly facts: TransitionFact[] = [];
  readonly webhooks: { id: string; type: string; target: 'notify' | 'escalation_hook'; url: string | null; payload: Record<string, unknown> }[] = [];
  private readonly initialStatus: FlowStatus;

  constructor(
    readonly client: pg.PoolClient,
    readonly flow: FlowRow,
    /**
     * Who changes the flow. The executor finds work it made due by itself
     * (its loop claims again after every completion); anyone else wakes the
     * executors with a NOTIFY, so the hot path sends none.
     */
    readonly origin: 'executor' | 'api' = 'api',
    /** The flow's dependency graph when its plan was not read. */
    private readonly knownGraph?: GraphNode[],
  ) {
    this.initialStatus = flow.status;
  }

  /** The flow's steps and what each depends on. */
  get graph(): GraphNode[] {
    const graph = this.knownGraph ?? (this.flow.plan ? graphOf(this.flow.plan) : undefined);
    if (!graph) throw new Error(`flow ${this.flow.id}: neither its plan nor its graph was read`);
    return graph;
  }

  /**
   * Queues a webhook (written with the transaction: an outbox) to the flow's
   * notify.url when it subscribed to `type`, and, for escalation.created, to
   * ESCALATION_WEBHOOK_URL (resolved by the deliverer).
   */
  webhook(type: 'escalation.created' | 'flow.completed' | 'flow.failed', data: Record<string, unknown>, refs: { stepId?: string; escalationId?: string } = {}): void {
    const targets: { target: 'notify' | 'escalation_hook'; url: string | null }[] = [];
    if (this.flow.notify && this.flow.notify.events.includes(type)) targets.push({ target: 'notify', url: this.flow.notify.url });
    if (type === 'escalation.created') targets.push({ target: 'escalation_hook', url: null });
    for (const t of targets) {
      const id = uuidv7();
      const payload = { id, type, at: new Date().toISOString(), flowId: this.flow.id, ...refs, data };
      this.webhooks.push({ id, type, ...t, payload });
    }
    if (targets.length > 0) this.notify(WEBHOOK_CHANNEL);
  }

  fact(f: TransitionFact): void {
    this.facts.push(f);
  }

  /** Some step of this flow is due now. */
  workDue(): void {
    if (this.origin === 'api') this.notify(WORK_CHANNEL);
  }

  /** Sends NOTIFY `channel` with `payload` when the transaction commits (deduplicated). */
  notify(channel: string, payload = ''): void {
    this.notifications.set(`${channel}\u0000${payload}`, channel);
  }

  /**
   * Queues an event to be recorded after every other event of this
   * transaction, when it is written (a released step's start follows the
   * success that released it).
   */
  eventLater(type: string, stepId: string | null | undefined, data: Record<string, unknown>): void {
    this.later.push({ type, stepId, data });
  }

  /** Records the events queued with eventLater (finishAll calls it). */
  recordLaterEvents(): void {
    for (const e of this.later.splice(0)) this.event(e.type, e.stepId, e.data, e.at);
  }

  /** Queues an event; it gets the next per-flow seq. */
  event(type: string, stepId: string | null | undefined, data: Record<string, unknown>, at?: Date): void {
    this.flow.eventSeq += 1;
    this.events.push({ type, stepId, data, at, seq: this.flow.eventSeq });
  }

  /** Changes flow fields (applied to the in-memory row at once, written by finish()). */
  set(patch: FlowPatch): void {
    Object.assign(this.flow, patch);
    this.patch = { ...this.patch, ...patch };
  }

  /** True when the flow row needs writing (events or changed fields). */
  get changed(): boolean {
    return this.events.length > 0 || Object.keys(this.patch).length > 0;
  }

  /** Queues the flow-terminal NOTIFY when this transaction ended the flow. */
  noteTermination(): void {
    if (this.flow.status !== this.initialStatus && isTerminalFlowStatus(this.flow.status)) this.notify(FLOW_CHANNEL, this.flow.id);
  }

  /** True when this transaction replaced the flow's input (a restart with a new one). */
  get inputChanged(): boolean {
    return 'input' in this.patch;
  }

  /** Writes what this transaction changed (see flow-writes.ts). */
  async finish(): Promise<void> {
    await finishAll(this.client, [this]);
  }
}

/** Locks the flow row and returns a FlowTx, or undefined when the flow does not exist. */
export async function openFlowTx(client: pg.PoolClient, flowId: string, origin: FlowTx['origin'] = 'api'): Promise<FlowTx | undefined> {
  const { rows } = await client.query<FlowRow>(`SELECT ${FLOW_COLUMNS} FROM flows WHERE id = $1 FOR UPDATE`, [flowId]);
  return rows[0] ? new FlowTx(client, rows[0], origin) : undefined;
}

/**
 * Runs `fn` in a transaction holding the flow's lock, writes the flow's
 * changes and events, commits, then runs the afterCommit hooks. Returns
 * undefined when the flow does not exist.
 */
export async function runFlowTx<T>(
  db: { transaction: <R>(fn: (client: pg.PoolClient) => Promise<R>) => Promise<R>; facts?: { emit(facts: TransitionFact[]): void } },
  flowId: string,
  fn: (tx: FlowTx) => Promise<T>,
  origin: FlowTx['origin'] = 'api',
): Promise<T | undefined> {
  const outcome = await db.transaction(async (client) => {
    const tx = await openFlowTx(client, flowId, origin);
    if (!tx) return undefined;
    const result = await fn(tx);
    await tx.finish();
    return { result, tx };
  });
  if (!outcome) return undefined;
  db.facts?.emit(outcome.tx.facts);
  for (const hook of outcome.tx.afterCommit) hook();
  return outcome.result;
}

/** Outputs of the flow's steps that have one, for `$steps` in expressions. */
export async function loadStepOutputs(client: Pick<pg.PoolClient, 'query'>, flowId: string): Promise<Record<string, { output: unknown }>> {
  const { rows } = await client.query<{ stepId: string; output: unknown }>(
    `SELECT step_id AS "stepId", output FROM steps WHERE flow_id = $1 AND output IS NOT NULL`,
    [flowId],
  );
  return Object.fromEntries(rows.map((r) => [r.stepId, { output: r.output }]));
}
