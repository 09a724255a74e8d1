// Due retries queued again in their flow's age order (store/retry-requeue.ts):
// once its backoff has passed, an older flow's retry is claimed before the
// steps of flows created after it, not behind them; a retry still waiting
// out its backoff is left alone; a queued retry leaves the index.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import type { ClaimedStep } from '../../src/executor/claimed-step.js';
import { createGroupCommitter } from '../../src/executor/group-committer.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { prepared } from '../../src/store/prepared.js';
import { REQUEUE_DUE_RETRIES, requeueDueRetries } from '../../src/store/retry-requeue.js';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';
import { explainPrepared } from '../helpers/explain-prepared.js';
import { fail503 } from '../helpers/http-503-failure.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const OWNER = 'test-executor';
const store = useStoreDatabase();

async function oneStepFlow(baseDelayMs: number): Promise<string> {
  const plan = planSchema.parse({
    name: `requeue-${baseDelayMs}`,
    steps: [{ id: 'call', kind: 'http', request: { method: 'POST', url: 'https://upstream.example/op' }, retry: { maxAttempts: 3, backoff: 'constant', baseDelayMs, jitter: 'none' } }],
  });
  const created = await createFlow(store.db(), { plan: normalizePlan(plan), idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });
  if (!created.created) throw new Error('flow not created');
  return created.flowId;
}

const claim = async (limit: number) => (await store.db().query<ClaimedStep>(prepared(CLAIM_DUE_STEPS, [OWNER, limit, 30_000]))).rows;

async function failOnce(step: ClaimedStep): Promise<void> {
  if (!(await fail503(createGroupCommitter({ db: store.db() }), step, OWNER))) throw new Error('the failure was not recorded');
}

const runAtOf = async (flowId: string) =>
  (await store.db().query<{ runAt: Date; createdAt: Date; strategy: string }>(
    `SELECT s.run_at AS "runAt", f.created_at AS "createdAt", s.strategy FROM steps s JOIN flows f ON f.id = s.flow_id WHERE s.flow_id = $1`,
    [flowId],
  )).rows[0]!;

describe('due retries queued again', () => {
  it("take their flow's creation time once due, so a claim takes them before newer flows' steps; a retry still in its backoff stays", async () => {
    const older = await oneStepFlow(150);
    const waiting = await oneStepFlow(60_000);
    const claimed = await claim(10);
    for (const flowId of [older, waiting]) await failOnce(claimed.find((s) => s.flowId === flowId)!);
    const newer = await oneStepFlow(150);
    await new Promise((r) => setTimeout(r, 300));

    const before = await runAtOf(older);
    expect(before.strategy).toBe('retry');
    expect(before.runAt.getTime()).toBeGreaterThan(before.createdAt.getTime());
    // Without queuing again, the newer flow's step (its creation time) sorts first.
    expect(await requeueDueRetries(store.db())).toBe(1);
    const after = await runAtOf(older);
    expect(after.runAt.getTime()).toBe(after.createdAt.getTime());
    expect((await runAtOf(waiting)).runAt.getTime()).toBeGreaterThan(Date.now() + 9_000);
    // Left the index: nothing to do the second time.
    expect(await requeueDueRetries(store.db())).toBe(0);

    // One at a time: a claim returns its rows in no particular order.
    expect((await claim(1)).map((s) => s.flowId)).toEqual([older]);
    expect((await claim(1)).map((s) => s.flowId)).toEqual([newer]);
  });

  it('finds due retries by their own index', async () => {
    expect(await explainPrepared(store.db(), REQUEUE_DUE_RETRIES, 'int', '1000')).toContain('steps_due_retries_idx');
  });
});
