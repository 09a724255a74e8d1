// Durations past 2^31 milliseconds (24.8 days), which plans allow: a delay of
// up to 365 days is one attempt that long, and an escalation may wait up to
// 30 days. Each must be written, not refused as an integer out of range.
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import { createFlow } from '../../src/store/flow-creation.js';
import { getFlowDetails } from '../../src/store/flow-repository.js';
import { runFlowTx } from '../../src/store/flow-tx.js';
import { fireDueTimers } from '../../src/store/timer-firing.js';
import { openEscalation } from '../../src/store/transitions/escalation-writes.js';
import { useStoreDatabase } from '../helpers/store-database.js';

const DAY_MS = 86_400_000;
const store = useStoreDatabase();

async function flowOf(steps: unknown[]): Promise<string> {
  const plan = normalizePlan(planSchema.parse({ name: 'long', steps }));
  const created = await createFlow(store.db(), { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null });
  return created.flowId;
}

describe('durations longer than 24.8 days', () => {
  it('a 300-day delay parked 300 days ago fires, and its attempt records the whole 300 days', async () => {
    const flowId = await flowOf([{ id: 'wait', kind: 'delay', delayMs: 300 * DAY_MS }]);
    // As the executor leaves a parked delay, started 300 days ago and due now.
    await store.db().query(
      `UPDATE steps SET status = 'running', due_action = 'timer', run_at = now() - interval '1 second',
              started_at = now() - interval '300 days', lease_owner = NULL, lease_expires_at = NULL
        WHERE flow_id = $1`,
      [flowId],
    );

    const fired = await fireDueTimers(store.db(), 'test-executor', 500);

    expect(fired.fired).toBe(1);
    const details = (await getFlowDetails(store.db(), flowId))!;
    expect(details.flow.status).toBe('completed');
    expect(details.attempts).toHaveLength(1);
    expect(Math.round(details.attempts[0]!.durationMs / DAY_MS)).toBe(300);
    expect(typeof details.attempts[0]!.durationMs).toBe('number');
  });

  it('an escalation may wait 30 days', async () => {
    const flowId = await flowOf([{ id: 'ask', kind: 'approval' }]);
    const opened = await runFlowTx(store.db(), flowId, (tx) =>
      openEscalation(tx, { kind: 'approval', stepId: 'ask', reason: 'r', message: null, error: null, attempts: 0, timeoutMs: 30 * DAY_MS, onTimeout: 'abort' }),
    );
    expect(Math.round((opened!.expiresAt!.getTime() - Date.now()) / DAY_MS)).toBe(30);
  });
});
