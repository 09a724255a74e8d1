// Retries decided in a group commit of several outcomes are written by the
// batch's one closing statement, not one UPDATE each; a retry whose lease
// was lost meanwhile fails the batch, which is then settled outcome by
// outcome with the exact (immediate) writes.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import type { ClaimedStep } from '../../src/executor/claimed-step.js';
import { createGroupCommitter } from '../../src/executor/group-committer.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { prepared } from '../../src/store/prepared.js';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';
import { countingTransactions } from '../helpers/counting-database.js';
import { fail503 } from '../helpers/http-503-failure.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const OWNER = 'test-executor';
const store = useStoreDatabase();
const ROOTS = ['a', 'b', 'c', 'd'];

async function fourRoots(): Promise<string> {
  const plan = planSchema.parse({
    name: 'retries',
    steps: ROOTS.map((id) => ({
      id,
      kind: 'http',
      dependsOn: [],
      request: { method: 'POST', url: 'https://upstream.example/op' },
      retry: { maxAttempts: 3, backoff: 'constant', baseDelayMs: 60_000, jitter: 'none' },
    })),
  });
  const created = await createFlow(store.db(), { plan: normalizePlan(plan), idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });
  if (!created.created) throw new Error('flow not created');
  return created.flowId;
}

async function claimRoots(flowId: string): Promise<ClaimedStep[]> {
  const { rows } = await store.db().query<ClaimedStep>(prepared(CLAIM_DUE_STEPS, [OWNER, 100, 30_000]));
  return rows.filter((r) => r.flowId === flowId);
}

const counting = () => countingTransactions(store.db());

const fail = (committer: ReturnType<typeof createGroupCommitter>, step: ClaimedStep) => fail503(committer, step, OWNER);

async function rowsOf(flowId: string) {
  const { rows } = await store.db().query<{ stepId: string; status: string; attempt: number; strategy: string | null; leaseOwner: string | null; inMs: number }>(
    `SELECT step_id AS "stepId", status, attempt, strategy, lease_owner AS "leaseOwner",
            (EXTRACT(EPOCH FROM (run_at - now())) * 1000)::float8 AS "inMs"
       FROM steps WHERE flow_id = $1 ORDER BY step_id`,
    [flowId],
  );
  return rows;
}

describe('retries in a group commit', () => {
  it('are written by the batch closing statement: four retries, no UPDATE of their own', async () => {
    const flowId = await fourRoots();
    const steps = await claimRoots(flowId);
    expect(steps).toHaveLength(4);
    const { db, statements } = counting();
    const committer = createGroupCommitter({ db });
    const results = await Promise.all(steps.map((s) => fail(committer, s)));
    expect(results).toEqual([true, true, true, true]);
    // Inside BEGIN/COMMIT: lock the flow, then write everything (attempts, events, flow, the four retries).
    expect(statements.filter((t) => /^\s*UPDATE steps/.test(t))).toEqual([]);
    expect(statements).toHaveLength(2);
    for (const row of await rowsOf(flowId)) {
      expect(row).toMatchObject({ status: 'scheduled', attempt: 1, strategy: 'retry', leaseOwner: null });
      expect(row.inMs).toBeGreaterThan(9_000); // 60 s capped by the default maxDelayMs (10 s)
    }
    const { rows: events } = await store.db().query<{ type: string }>(`SELECT type FROM flow_events WHERE flow_id = $1 AND type = 'recovery.decided'`, [flowId]);
    expect(events).toHaveLength(4);
  });

  it('one whose lease was lost fails the batch, and each outcome is then settled alone: the lost one writes nothing', async () => {
    const flowId = await fourRoots();
    const steps = await claimRoots(flowId);
    const lost = steps.find((s) => s.stepId === 'c')!;
    await store.db().query(`UPDATE steps SET lease_owner = 'someone-else' WHERE id = $1`, [lost.id]);
    const { db, statements } = counting();
    const committer = createGroupCommitter({ db });
    const results = await Promise.all(steps.map((s) => fail(committer, s)));
    expect(results).toEqual(steps.map((s) => s.stepId !== 'c'));
    // The batch (no UPDATE of its own, rolled back), then each of the four alone with its own UPDATE.
    expect(statements.filter((t) => /^\s*UPDATE steps SET attempt/.test(t))).toHaveLength(4);
    expect(statements.filter((t) => t.includes('FROM unnest($6::text[], $7::text[])'))).toHaveLength(1 + 3);
    const rows = await rowsOf(flowId);
    for (const row of rows.filter((r) => r.stepId !== 'c')) expect(row).toMatchObject({ status: 'scheduled', attempt: 1, strategy: 'retry' });
    expect(rows.find((r) => r.stepId === 'c')).toMatchObject({ status: 'running', attempt: 0, leaseOwner: 'someone-else' });
    const { rows: attempts } = await store.db().query<{ stepId: string }>(`SELECT step_id AS "stepId" FROM attempts WHERE flow_id = $1`, [flowId]);
    expect(attempts.map((a) => a.stepId).sort()).toEqual(['a', 'b', 'd']);
  });
  it('a retry in a flow that has ended is written at once: it finds its lease gone without splitting the batch', async () => {
    const ended = await fourRoots();
    const live = await fourRoots();
    // One claim takes the roots of both flows.
    const { rows: claimed } = await store.db().query<ClaimedStep>(prepared(CLAIM_DUE_STEPS, [OWNER, 100, 30_000]));
    const endedStep = claimed.find((r) => r.flowId === ended)!;
    const liveStep = claimed.find((r) => r.flowId === live)!;
    // As endFlow leaves them: the flow failed, its running steps cancelled and their leases cleared.
    await store.db().query(`UPDATE flows SET status = 'failed' WHERE id = $1`, [ended]);
    await store.db().query(`UPDATE steps SET status = 'cancelled', lease_owner = NULL WHERE flow_id = $1`, [ended]);
    const { db, statements } = counting();
    const committer = createGroupCommitter({ db });
    const results = await Promise.all([fail(committer, endedStep), fail(committer, liveStep)]);
    expect(results).toEqual([false, true]);
    // One batch, not split: its closing statement ran once.
    expect(statements.filter((t) => t.includes('FROM unnest($6::text[], $7::text[])'))).toHaveLength(1);
    expect((await rowsOf(live)).find((r) => r.stepId === liveStep.stepId)).toMatchObject({ status: 'scheduled', strategy: 'retry' });
  });
});
