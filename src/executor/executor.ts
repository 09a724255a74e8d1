// The claim loop. Claims due rows in batches with one statement, runs up to
// `concurrency` of them at once, renews the leases of long-running work,
// sleeps until the next due time, a NOTIFY, a local wake-up or the poll
// interval. stop() drains in-flight work (bounded) and releases leases.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { PatternSet } from '../domain/pattern-set.js';
import type { Logger } from '../logger.js';
import { WORK_CHANNEL } from '../store/channels.js';
import type { Database } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import { CLAIM_DUE_STEPS } from '../store/sql/claim-due-steps.js';
import { createBreakerGate } from './breaker-gate.js';
import { createExecutionSlots } from './execution-slots.js';
import { enableFastClaim } from './fast-claim.js';
import { createGroupCommitter } from './group-committer.js';
import type { ClaimedStep } from './claimed-step.js';
import { Doorbell } from './doorbell.js';
import { failOverdueFlows } from './deadline-sweeper.js';
import { runDueWork } from './forward-work.js';
import type { Notifier } from './notifier.js';
import type { AddressPolicy } from '../domain/address-policy.js';
import { createHttpAgent, type Resolver } from './runners/http-runner.js';
import { requeueDueRetries } from '../store/retry-requeue.js';
import { anyDueTimer, fireDueTimers } from '../store/timer-firing.js';
import type { WorkContext } from './work-context.js';

/** Timers fired in bulk per transaction at most. */
export const TIMER_BATCH = 500;
/**
 * Timer firings in flight at once, each a transaction on timers and flows the
 * others have not locked: the loop waits for a firing only until it holds its
 * timers, so its next look need not wait for the commit.
 */
export const TIMER_FIRINGS = 4;

export interface ExecutorOptions {
  db: Database;
  logger: Logger;
  patterns: () => PatternSet;
  /** In-flight executions. */
  concurrency: number;
  /** Lease length, in milliseconds. */
  leaseMs: number;
  notifier?: Notifier;
  now?: () => number;
  random?: () => number;
  agent?: Dispatcher;
  /** Longest sleep between claims when nothing signals, in ms. Defaults to 1000. */
  pollIntervalMs?: number;
  /** Rows claimed per statement at most. Defaults to 64. */
  batchSize?: number;
  /** How long stop() waits for in-flight work, in ms. Defaults to 10 s. */
  drainMs?: number;
  /** Observes how late each claimed row, and each timer fired in bulk, was taken up, in seconds. */
  onLag?: (seconds: number) => void;
  /** Addresses http steps and compensations may reach; undefined allows any (tests only). */
  addressPolicy?: AddressPolicy;
  /** Name resolution for http steps (injectable for tests). */
  resolve?: Resolver;
}

export function createExecutor(options: ExecutorOptions) {
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const logger = options.logger.child({ component: 'executor', owner });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const batchSize = options.batchSize ?? 64;
  const agent = options.agent ?? createHttpAgent({ ...(options.addressPolicy ? { policy: options.addressPolicy } : {}), ...(options.resolve ? { resolve: options.resolve } : {}) });
  const ctx: WorkContext = {
    db: options.db,
    logger,
    owner,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    patterns: options.patterns,
    agent,
    breakers: createBreakerGate({
      db: options.db,
      notifier: options.notifier,
      now: options.now,
      onError: (error) => logger.warn({ err: error }, 'circuit breaker update failed'),
    }),
    policy: options.addressPolicy,
    abandoned: () => abandoned,
    committer: createGroupCommitter({
      db: options.db,
      prepare: (tx) =>
        enableFastClaim(tx, {
          owner,
          leaseMs: options.leaseMs,
          reserve: (n, settling) => (running ? slots.holdForReleased(n, settling) : 0),
          release: (n) => slots.release(n),
          launch: (step) => {
            slots.release(1);
            launch(step);
          },
        }),
    }),
  };
  const bell = new Doorbell();
  const slots = createExecutionSlots(options.concurrency);
  let running = false;
  let abandoned = false;
  let loopDone: Promise<void> = Promise.resolve();
  let renewTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  const onNotify = () => bell.ring();

  async function claim(limit: number): Promise<ClaimedStep[]> {
    const { rows } = await options.db.query<ClaimedStep & Record<string, unknown>>(prepared(CLAIM_DUE_STEPS, [owner, limit, options.leaseMs]));
    return rows;
  }

  /** Milliseconds until the next row is due (capped by the poll interval). */
  async function untilNextDue(): Promise<number> {
    const { rows } = await options.db.query<{ ms: number | null }>(
      `SELECT (EXTRACT(EPOCH FROM (min(run_at) - now())) * 1000)::float8 AS ms FROM steps WHERE run_at IS NOT NULL`,
    );
    const ms = rows[0]?.ms;
    // At least a few ms: rows due now but locked by another replica's claim are being taken.
    return ms === null || ms === undefined ? pollIntervalMs : Math.max(5, Math.min(pollIntervalMs, Math.ceil(ms)));
  }

  function launch(step: ClaimedStep): void {
    // A row this process is still working on comes back when its lease ran out before the
    // work was written (a slow commit under load): the claim has renewed the lease; running
    // the same attempt a second time would repeat its call. A row of a later run (the flow
    // restarted meanwhile) is new work: the earlier run's attempt can no longer write.
    if (slots.working(step)) return;
    options.onLag?.(Math.max(0, step.claimedAt.getTime() - step.dueAt.getTime()) / 1000);
    slots.track(
      step,
      () =>
        runDueWork(ctx, step).catch((error: unknown) =>
          logger.error({ err: error, flowId: step.flowId, stepId: step.stepId }, 'step work failed; the lease will expire and it will be retried'),
        ),
      () => bell.ring(),
    );
  }

  /** Least time between two looks for due timers, in ms, unless the last one was full. */
  const TIMER_LOOK_MS = 20;
  let nextTimerLook = 0;
  /** Timer firings not yet committed (or failed). */
  const firings = new Set<Promise<void>>();
  /** Whether the last look found due timers; after one that did not, a cheaper look (anyDueTimer) comes first. */
  let timersFound = true;

  /**
   * Starts a firing of due timers in bulk (they need no execution slot) and
   * waits until it holds them, not for its commit; beside it, queues due
   * retries again in their flow's age order (retry-requeue.ts). True when
   * more timers may be due at once.
   */
  async function fireTimers(): Promise<boolean> {
    if (firings.size >= TIMER_FIRINGS || Date.now() < nextTimerLook) return false;
    nextTimerLook = Date.now() + TIMER_LOOK_MS;
    // Its own failure handling: a retry left where it is still runs, only later in the queue.
    const requeued = requeueDueRetries(options.db).catch((error: unknown) => logger.warn({ err: error }, 'queuing due retries again failed'));
    // Most looks of a service without timers find none: one statement, not a transaction, tells.
    if (!timersFound && !(await anyDueTimer(options.db).catch(() => true))) {
      await requeued;
      return false;
    }
    let held: (timers: number) => void = () => undefined;
    const locked = new Promise<number>((resolve) => (held = resolve));
    const firing = fireDueTimers(options.db, owner, TIMER_BATCH, { nowMs: ctx.now(), onLocked: held }).then(
      (result) => {
        for (const ms of result.lateMs) options.onLag?.(ms / 1000);
        // The steps it released are due now, and a slot may take the next look.
        bell.ring();
      },
      (error: unknown) => {
        // The claim loop still takes them up one by one.
        logger.warn({ err: error }, 'firing timers in bulk failed');
        nextTimerLook = Date.now() + pollIntervalMs;
        held(0);
      },
    );
    firings.add(firing);
    void firing.finally(() => firings.delete(firing));
    const [timers] = await Promise.all([locked, requeued]);
    timersFound = timers > 0;
    if (timers < TIMER_BATCH) return false;
    nextTimerLook = 0;
    return true;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (running) {
      if (await fireTimers()) continue;
      const capacity = slots.free();
      try {
        if (capacity > 0) {
          const limit = Math.min(capacity, batchSize);
          // Held while the claim is out: a commit's fast claim meanwhile must not take the same slots.
          slots.hold(limit);
          let rows: ClaimedStep[];
          try {
            rows = await claim(limit);
          } finally {
            slots.release(limit);
          }
          for (const row of rows) launch(row);
          failures = 0;
          if (rows.length === limit) continue;
          await bell.wait(await untilNextDue());
        } else {
          // Every slot busy: still look for due timers now and then (they need none).
          await bell.wait(Math.min(pollIntervalMs, 100));
        }
      } catch (error) {
        failures++;
        logger.warn({ err: error }, 'claim failed; backing off');
        await bell.wait(Math.min(pollIntervalMs * failures, 5000));
      }
    }
  }

  /** Keeps the leases of long-running work (longer than a third of the lease) alive. */
  async function renewLeases(): Promise<void> {
    if (slots.size() === 0) return;
    await options.db
      .query(
        // Only leases past a third of their length, and never a row some commit holds: renewal must not deadlock with it.
        `UPDATE steps SET lease_expires_at = now() + $3 * interval '1 millisecond', run_at = now() + $3 * interval '1 millisecond'
          WHERE id IN (SELECT id FROM steps
                        WHERE lease_owner = $1 AND id = ANY($2::uuid[]) AND lease_expires_at < now() + $3 * interval '0.667 millisecond'
                          FOR UPDATE SKIP LOCKED)`,
        [owner, slots.ids(), options.leaseMs],
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'lease renewal failed'));
  }

  return {
    owner,
    /** Work currently in flight. */
    inflightCount: () => slots.size(),
    /** Ends the current sleep: new work may be due. */
    wake: () => bell.ring(),
    start(): void {
      if (running) return;
      running = true;
      options.notifier?.on(WORK_CHANNEL, onNotify);
      renewTimer = setInterval(() => void renewLeases(), Math.max(250, Math.floor(options.leaseMs / 3)));
      sweepTimer = setInterval(() => void failOverdueFlows(options.db, logger).catch(() => undefined), 1000);
      loopDone = loop();
    },
    /** Stops claiming, waits for in-flight work up to drainMs, then releases what is left. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      options.notifier?.off(WORK_CHANNEL, onNotify);
      if (sweepTimer) clearInterval(sweepTimer);
      bell.ring();
      await loopDone;
      await Promise.all(firings);
      const drainMs = options.drainMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((r) => (timer = setTimeout(() => r(false), drainMs)));
      // Completions may still start work they fast-claimed before the stop: wait until none is left.
      let drained = true;
      while (slots.size() > 0 && drained) drained = await Promise.race([Promise.all(slots.works()).then(() => true as const), deadline]);
      await ctx.committer.drained();
      clearTimeout(timer);
      if (renewTimer) clearInterval(renewTimer);
      const left = slots.ids();
      abandoned = !drained;
      if (left.length > 0) {
        logger.warn({ steps: left.length }, 'releasing leases of unfinished work');
        await options.db.query(`UPDATE steps SET lease_owner = NULL, lease_expires_at = NULL, run_at = now() WHERE lease_owner = $1`, [owner]);
      }
      // close() would wait for requests still in flight; after a timed-out drain they are abandoned.
      if (!options.agent) await (drained ? agent.close() : agent.destroy()).catch(() => undefined);
      await ctx.breakers.close();
    },
  };
}

export type Executor = ReturnType<typeof createExecutor>;
