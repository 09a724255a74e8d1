// The Tasks API's behaviour: long-poll claims, heartbeats, answers.
import type { PatternSet } from '../../domain/pattern-set.js';
import type { Notifier } from '../../executor/notifier.js';
import { TASK_CHANNEL } from '../../store/channels.js';
import type { Database } from '../../store/database.js';
import { CLAIM_TASKS, HEARTBEAT_TASK } from '../../store/sql/claim-tasks.js';
import { answerTask, unknownOrLost, type TaskAnswer } from '../../store/task-answers.js';
import { Doorbell } from '../../executor/doorbell.js';
import { ConflictError, NotFoundError } from '../problems.js';

interface TaskRow {
  id: string;
  flowId: string;
  stepId: string;
  type: string;
  input: unknown;
  attempt: number;
  idempotencyKey: string;
  leaseExpiresAt: Date;
}

export interface TaskServiceDeps {
  db: Database;
  notifier?: Notifier | undefined;
  leaseMs: number;
  patterns: () => PatternSet;
  now?: () => number;
  random?: () => number;
}

/** How often a long poll looks again without a notification, in ms. */
const LONG_POLL_RECHECK_MS = 1000;

export function createTaskService(deps: TaskServiceDeps) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const polling = new Set<Doorbell>();
  let closing = false;

  const view = (t: TaskRow) => ({ ...t, leaseExpiresAt: t.leaseExpiresAt.toISOString() });

  async function claim(workerId: string, types: string[], max: number): Promise<TaskRow[]> {
    const { rows } = await deps.db.query<TaskRow>(CLAIM_TASKS, [workerId, types, max, deps.leaseMs]);
    return rows;
  }

  function rejected(result: 'lease_lost' | 'unknown', id: string): never {
    if (result === 'unknown') throw new NotFoundError(`task ${id} does not exist`);
    throw new ConflictError(`the lease on task ${id} was lost (expired, timed out, already answered, or its flow was restarted)`);
  }

  return {
    async poll(body: { workerId: string; types: string[]; max: number; waitMs: number }) {
      const deadline = now() + body.waitMs;
      const bell = new Doorbell();
      polling.add(bell);
      const onOffer = (type: string) => {
        if (!type || body.types.includes(type)) bell.ring();
      };
      deps.notifier?.on(TASK_CHANNEL, onOffer);
      try {
        for (;;) {
          const tasks = await claim(body.workerId, body.types, body.max);
          const left = deadline - now();
          if (tasks.length > 0 || left <= 0 || closing) return { tasks: tasks.map(view) };
          await bell.wait(Math.min(left, LONG_POLL_RECHECK_MS));
        }
      } finally {
        deps.notifier?.off(TASK_CHANNEL, onOffer);
        polling.delete(bell);
      }
    },

    /** Ends every long poll now (shutdown): they answer with what they have. */
    close(): void {
      closing = true;
      for (const bell of polling) bell.ring();
    },

    async heartbeat(id: string) {
      const { rows } = await deps.db.query<{ leaseExpiresAt: Date }>(HEARTBEAT_TASK, [id, deps.leaseMs]);
      if (!rows[0]) rejected(await unknownOrLost(deps.db, id), id);
      return { leaseExpiresAt: rows[0].leaseExpiresAt.toISOString() };
    },

    async answer(id: string, answer: TaskAnswer) {
      const result = await answerTask(deps.db, id, answer, { patterns: deps.patterns, now, random });
      if (result !== 'accepted') rejected(result, id);
      return { status: 'accepted' as const };
    },
  };
}

export type TaskService = ReturnType<typeof createTaskService>;
