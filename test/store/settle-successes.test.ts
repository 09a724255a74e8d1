// Successes settled set-wise by the group commit: however many outcomes a
// batch holds, it costs three statements (lock the flows, settle and release,
// write attempts/events/flows), dependents released by several of them at
// once are released exactly once, ready ones are claimed for the executor
// (with slots reserved for them, none for a delay, which is parked), and a
// success whose lease was lost settles nothing.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import type { ClaimedStep } from '../../src/executor/claimed-step.js';
import { enableFastClaim } from '../../src/executor/fast-claim.js';
import { createGroupCommitter } from '../../src/executor/group-committer.js';
import type { Database } from '../../src/store/database.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { prepared } from '../../src/store/prepared.js';
import { CLAIM_DUE_STEPS } from '../../src/store/sql/claim-due-steps.js';
import { recordStepSuccess } from '../../src/store/transitions/step-success.js';
import { countingTransactions } from '../helpers/counting-database.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const OWNER = 'test-executor';
const store = useStoreDatabase();

/** Roots a-d; `join` waits for all four, `tail` for a alone. */
async function diamond(): Promise<string> {
  const plan = planSchema.parse({
    name: 'fan-in',
    steps: [
      ...['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'noop', dependsOn: [] })),
      { id: 'join', kind: 'noop', dependsOn: ['a', 'b', 'c', 'd'] },
      { id: 'tail', kind: 'noop', dependsOn: ['a'] },
    ],
  });
  const created = await createFlow(store.db(), { plan: normalizePlan(plan), idempotencyKey: undefined, requestHash: 'h', createdBy: null, traceId: null, traceparent: null });
  if (!created.created) throw new Error('flow not created');
  return created.flowId;
}

async function claimRoots(flowId: string): Promise<Map<string, ClaimedStep>> {
  const { rows } = await store.db().query<ClaimedStep>(prepared(CLAIM_DUE_STEPS, [OWNER, 100, 30_000]));
  return new Map(rows.filter((r) => r.flowId === flowId).map((r) => [r.stepId, r]));
}

const counting = () => countingTransactions(store.db());

function committerFor(database: Database, launched: ClaimedStep[]) {
  return createGroupCommitter({
    db: database,
    prepare: (tx) => enableFastClaim(tx, { owner: OWNER, leaseMs: 30_000, reserve: (n) => n, release: () => undefined, launch: (s) => launched.push(s) }),
  });
}

function succeed(committer: ReturnType<typeof createGroupCommitter>, step: ClaimedStep, owner = OWNER, output: unknown = { from: step.stepId }) {
  const info = { number: 1, alternativeId: null, phase: 'forward' as const, startedAt: new Date(), finishedAt: new Date(), executedBy: OWNER };
  const success = { step, output, options: { owner, attempt: info } };
  return committer.run(step.flowId, (tx) => recordStepSuccess(tx, step, success.output, success.options), success);
}

async function stepsOf(flowId: string) {
  const { rows } = await store.db().query<{ stepId: string; status: string; pendingDeps: number; leaseOwner: string | null; output: unknown }>(
    `SELECT step_id AS "stepId", status, pending_deps AS "pendingDeps", lease_owner AS "leaseOwner", output FROM steps WHERE flow_id = $1`,
    [flowId],
  );
  return Object.fromEntries(rows.map((r) => [r.stepId, r]));
}

describe('successes settled set-wise by the group commit', () => {
  it('settles four successes in one statement, releases their shared dependent once and claims what became ready', async () => {
    const flowId = await diamond();
    const roots = await claimRoots(flowId);
    expect([...roots.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    const { db: counted, statements } = counting();
    const launched: ClaimedStep[] = [];
    const committer = committerFor(counted, launched);

    const results = await Promise.all(['a', 'b', 'c', 'd'].map((id) => succeed(committer, roots.get(id)!)));

    expect(results).toEqual([true, true, true, true]);
    // BEGIN, lock the flows, settle all four, write everything else, COMMIT.
    expect(statements.filter((s) => s !== 'BEGIN' && s !== 'COMMIT')).toHaveLength(3);
    const steps = await stepsOf(flowId);
    for (const id of ['a', 'b', 'c', 'd']) expect(steps[id]).toMatchObject({ status: 'succeeded', leaseOwner: null, output: { from: id } });
    expect(steps.join).toMatchObject({ status: 'running', pendingDeps: 0, leaseOwner: OWNER });
    expect(steps.tail).toMatchObject({ status: 'running', pendingDeps: 0, leaseOwner: OWNER });
    expect(launched.map((s) => s.stepId).sort()).toEqual(['join', 'tail']);

    const flow = (await store.db().query<{ remaining: number; seq: number }>(`SELECT steps_remaining AS remaining, event_seq AS seq FROM flows WHERE id = $1`, [flowId])).rows[0]!;
    expect(flow.remaining).toBe(2);
    const events = (await store.db().query<{ seq: number; type: string; stepId: string | null }>(
      `SELECT seq, type, step_id AS "stepId" FROM flow_events WHERE flow_id = $1 ORDER BY seq`,
      [flowId],
    )).rows;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'step.succeeded').map((e) => e.stepId).sort()).toEqual(['a', 'b', 'c', 'd']);
    const attempts = (await store.db().query(`SELECT 1 FROM attempts WHERE flow_id = $1 AND outcome = 'succeeded'`, [flowId])).rowCount;
    expect(attempts).toBe(4);
  });

  it('a success whose lease another executor holds settles nothing and releases nothing; the others in its batch still do', async () => {
    const flowId = await diamond();
    const roots = await claimRoots(flowId);
    const launched: ClaimedStep[] = [];
    const committer = committerFor(store.db(), launched);

    const results = await Promise.all([succeed(committer, roots.get('a')!, 'someone-else'), succeed(committer, roots.get('b')!)]);

    expect(results).toEqual([false, true]);
    const steps = await stepsOf(flowId);
    expect(steps.a).toMatchObject({ status: 'running', leaseOwner: OWNER });
    expect(steps.b).toMatchObject({ status: 'succeeded' });
    expect(steps.join).toMatchObject({ status: 'pending', pendingDeps: 3 });
    expect(steps.tail).toMatchObject({ status: 'pending', pendingDeps: 1 });
    expect(launched).toEqual([]);
  });

  it('without capacity to lend, what became ready is left due for the claim loop', async () => {
    const flowId = await diamond();
    const roots = await claimRoots(flowId);
    const committer = createGroupCommitter({
      db: store.db(),
      prepare: (tx) => enableFastClaim(tx, { owner: OWNER, leaseMs: 30_000, reserve: () => 0, release: () => undefined, launch: () => undefined }),
    });

    await Promise.all(['a', 'b', 'c', 'd'].map((id) => succeed(committer, roots.get(id)!)));

    const steps = await stepsOf(flowId);
    expect(steps.join).toMatchObject({ status: 'scheduled', pendingDeps: 0, leaseOwner: null });
    expect(steps.tail).toMatchObject({ status: 'scheduled', pendingDeps: 0, leaseOwner: null });
    const due = (await store.db().query(`SELECT 1 FROM steps WHERE flow_id = $1 AND due_action = 'attempt' AND run_at <= now()`, [flowId])).rowCount;
    expect(due).toBe(2);
  });

  it('one step succeeding twice in one batch (run again by the same process) settles once, with the outcome recorded first', async () => {
    const flowId = await diamond();
    const roots = await claimRoots(flowId);
    const committer = committerFor(store.db(), []);

    const results = await Promise.all([succeed(committer, roots.get('a')!, OWNER, { run: 1 }), succeed(committer, roots.get('a')!, OWNER, { run: 2 })]);

    expect(results).toEqual([true, false]);
    expect((await stepsOf(flowId)).a).toMatchObject({ status: 'succeeded', output: { run: 1 } });
    const succeeded = (await store.db().query(`SELECT 1 FROM flow_events WHERE flow_id = $1 AND type = 'step.succeeded' AND step_id = 'a'`, [flowId])).rowCount;
    expect(succeeded).toBe(1);
  });

  it('reserves slots only for the dependents that can be claimed: a delay is parked without one', async () => {
    // Nothing else due: rows earlier tests left due are claimed out of the way.
    await store.db().query(prepared(CLAIM_DUE_STEPS, ['bystander', 10_000, 3_600_000]));
    const plan = planSchema.parse({
      name: 'to-delays',
      steps: [
        { id: 'a', kind: 'noop' },
        { id: 'wait', kind: 'delay', delayMs: 60_000, dependsOn: ['a'] },
        { id: 'next', kind: 'noop', dependsOn: ['a'] },
        { id: 'b', kind: 'noop', dependsOn: [] },
        { id: 'only-wait', kind: 'delay', delayMs: 60_000, dependsOn: ['b'] },
      ],
    });
    const created = await createFlow(store.db(), { plan: normalizePlan(plan), idempotencyKey: undefined, requestHash: 'h', createdBy: null, traceId: null, traceparent: null });
    if (!created.created) throw new Error('flow not created');
    const roots = await claimRoots(created.flowId);
    const asked: number[] = [];
    const launched: ClaimedStep[] = [];
    const committer = createGroupCommitter({
      db: store.db(),
      prepare: (tx) =>
        enableFastClaim(tx, { owner: OWNER, leaseMs: 30_000, reserve: (n) => (asked.push(n), n), release: () => undefined, launch: (s) => launched.push(s) }),
    });
    await succeed(committer, roots.get('a')!);
    await succeed(committer, roots.get('b')!);
    // a: one slot (next), not two; b: none asked for at all.
    expect(asked).toEqual([1]);
    expect(launched.map((s) => s.stepId)).toEqual(['next']);
    const steps = await stepsOf(created.flowId);
    expect([steps.wait!.status, steps['only-wait']!.status]).toEqual(['running', 'running']);
  });

  it('a busy executor finishes the flows it started first: a released dependent waits with its flow\'s creation time, its lag counted from its release', async () => {
    // Nothing else due: rows earlier tests left due are claimed out of the way.
    await store.db().query(prepared(CLAIM_DUE_STEPS, ['bystander', 10_000, 3_600_000]));
    const chain = async () => {
      const plan = planSchema.parse({ name: 'chain', steps: [{ id: 'a', kind: 'noop' }, { id: 'b', kind: 'noop', dependsOn: ['a'] }] });
      const created = await createFlow(store.db(), { plan: normalizePlan(plan), idempotencyKey: undefined, requestHash: 'h', createdBy: null, traceId: null, traceparent: null });
      if (!created.created) throw new Error('flow not created');
      return created.flowId;
    };
    const claimOne = async () => (await store.db().query<ClaimedStep>(prepared(CLAIM_DUE_STEPS, [OWNER, 1, 30_000]))).rows[0]!;
    const older = await chain();
    const newer = await chain();
    const first = await claimOne();
    expect([first.flowId, first.stepId]).toEqual([older, 'a']);
    await new Promise((r) => setTimeout(r, 300));
    const noCapacity = createGroupCommitter({
      db: store.db(),
      prepare: (tx) => enableFastClaim(tx, { owner: OWNER, leaseMs: 30_000, reserve: () => 0, release: () => undefined, launch: () => undefined }),
    });
    await succeed(noCapacity, first);

    // Due since the older flow's creation, so before the newer flow's first step.
    const next = await claimOne();
    expect([next.flowId, next.stepId]).toEqual([older, 'b']);
    expect(next.claimedAt.getTime() - next.dueAt.getTime()).toBeLessThan(250);
    const then = await claimOne();
    expect([then.flowId, then.stepId]).toEqual([newer, 'a']);
  });
});
