// Fails flows that passed their deadline while no step was failing (e.g. a
// task nobody picks up, a long delay): error deadline_exceeded, compensating
// as the mode says for a critical failure. Work about to start checks the
// deadline itself (forward-work.ts); this catches flows where nothing starts.
import { deadlineReason } from '../domain/deadline.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/database.js';
import { runFlowTx } from '../store/flow-tx.js';
import { endFlow } from '../store/transitions/flow-progress.js';

export async function failOverdueFlows(db: Database, logger: Logger, limit = 50): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM flows WHERE deadline_at <= now() AND status IN ('pending', 'running', 'waiting') ORDER BY deadline_at LIMIT $1`,
    [limit],
  );
  let failed = 0;
  for (const { id } of rows) {
    await runFlowTx(db, id, async (tx) => {
      if (!['pending', 'running', 'waiting'].includes(tx.flow.status) || !tx.flow.deadlineAt || tx.flow.deadlineAt.getTime() > Date.now()) return;
      tx.event('recovery.decided', null, { strategy: 'stop', reason: deadlineReason(tx.flow.deadlineAt.getTime()) });
      await endFlow(tx, { errorType: 'deadline_exceeded', message: 'the flow passed its deadline' }, { compensate: tx.flow.mode !== 'lenient', final: 'failed' });
      failed++;
    }).catch((error: unknown) => logger.warn({ err: error, flowId: id }, 'could not fail an overdue flow'));
  }
  return failed;
}
