// Many flows of one plan written straight through the store (no API, no
// executor), 250 at a time: the tables a plan test needs before it EXPLAINs.
import { normalizePlan } from '../../src/domain/plan.js';
import { planSchema } from '../../src/domain/plan-schema.js';
import type { Database } from '../../src/store/database.js';
import { createFlow } from '../../src/store/flow-creation.js';

/** Creates `count` flows whose plan has `steps`. */
export async function createFlowsOf(db: Database, steps: unknown[], count: number): Promise<void> {
  const plan = normalizePlan(planSchema.parse({ name: 'bulk', steps }));
  for (let i = 0; i < count; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, count - i) }, () => createFlow(db, { plan, idempotencyKey: undefined, requestHash: null, createdBy: null, traceId: null, traceparent: null })),
    );
  }
}

/** A delay an hour long, then a noop depending on it. */
export const PARKED_PAIR = [
  { id: 'wait', kind: 'delay', delayMs: 3_600_000 },
  { id: 'next', kind: 'noop', dependsOn: ['wait'] },
];
