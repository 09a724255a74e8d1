// Opening and closing escalations inside a FlowTx.
import { uuidv7 } from '../uuid-v7.js';
import type { EscalationAction, EscalationKind } from '../../domain/statuses.js';
import type { FlowTx } from '../flow-tx.js';

export const ALLOWED_ACTIONS: Record<EscalationKind, EscalationAction[]> = {
  recovery: ['retry', 'skip', 'abort', 'complete'],
  approval: ['complete', 'abort'],
  compensation: ['retry', 'skip', 'complete'],
};

export interface NewEscalation {
  kind: EscalationKind;
  stepId: string;
  reason: string;
  message: string | null;
  error: unknown;
  attempts: number;
  timeoutMs: number | null;
  onTimeout: 'abort' | 'skip' | null;
}

export async function openEscalation(tx: FlowTx, e: NewEscalation): Promise<{ id: string; expiresAt: Date | null }> {
  const id = uuidv7();
  const { rows } = await tx.client.query<{ expiresAt: Date | null }>(
    `INSERT INTO escalations (id, kind, status, flow_id, step_id, reason, message, error, attempts, allowed_actions, on_timeout, expires_at)
     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $10,
             CASE WHEN $11::bigint IS NULL THEN NULL ELSE now() + $11::bigint * interval '1 millisecond' END)
     RETURNING expires_at AS "expiresAt"`,
    [id, e.kind, tx.flow.id, e.stepId, e.reason, e.message, JSON.stringify(e.error ?? null), e.attempts, ALLOWED_ACTIONS[e.kind], e.onTimeout, e.timeoutMs],
  );
  const expiresAt = rows[0]!.expiresAt;
  const data = { escalationId: id, kind: e.kind, reason: e.reason, message: e.message, expiresAt: expiresAt?.toISOString() ?? null };
  tx.event('escalation.created', e.stepId, data);
  tx.webhook('escalation.created', { ...data, error: e.error ?? null, allowedActions: ALLOWED_ACTIONS[e.kind] }, { stepId: e.stepId, escalationId: id });
  return { id, expiresAt };
}

/** Resolves every open escalation of the flow as aborted by the system (the flow ended). */
export async function closeOpenEscalations(tx: FlowTx, note: string): Promise<void> {
  const { rows } = await tx.client.query<{ id: string; stepId: string }>(
    `UPDATE escalations
        SET status = 'resolved', resolved_at = now(), resolved_by = 'system',
            resolution = jsonb_build_object('action', 'abort', 'note', $2::text, 'resolvedBy', 'system')
      WHERE flow_id = $1 AND status = 'open'
      RETURNING id, step_id AS "stepId"`,
    [tx.flow.id, note],
  );
  for (const row of rows) tx.event('escalation.resolved', row.stepId, { escalationId: row.id, action: 'abort', resolvedBy: 'system', note });
}

/** Sets the flow to waiting while any step waits, back to running when none does. */
export async function refreshWaiting(tx: FlowTx): Promise<void> {
  if (tx.flow.status !== 'running' && tx.flow.status !== 'waiting') return;
  const { rows } = await tx.client.query<{ waiting: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM steps WHERE flow_id = $1 AND status = 'waiting') AS waiting`,
    [tx.flow.id],
  );
  const status = rows[0]!.waiting ? 'waiting' : 'running';
  if (status !== tx.flow.status) tx.set({ status });
}
