// A person's answer to an escalation: retry (fresh attempt counter, optional
// patch), skip (dependents run, with the given output), complete (succeeded
// with output) or abort (failed; the mode decides). Applied under the flow lock.
import { applyPatch } from '../../domain/patch.js';
import { definitionProblem, literalPatchEntries } from '../../domain/plan-validation.js';
import type { EscalationAction } from '../../domain/statuses.js';
import type { FlowTx } from '../flow-tx.js';
import { outputBudgetFailure, outputBytes, reserveOutputBytes } from '../output-budget.js';
import { STEP_COLUMNS, type StepRow } from '../step-row.js';
import { updateStepIfOwned } from './attempts.js';
import { refreshWaiting } from './escalation-writes.js';
import { settleFailedStep } from './step-failure.js';
import { recordStepSuccess } from './step-success.js';
import { CommandRefused } from './flow-commands.js';

export interface Resolution {
  action: EscalationAction;
  patch?: Record<string, unknown> | undefined;
  output?: unknown;
  note?: string | undefined;
  resolvedBy: string | null;
}

interface OpenEscalation {
  id: string;
  kind: 'recovery' | 'approval' | 'compensation';
  stepId: string;
  allowedActions: string[];
}

export class ActionNotAllowed extends Error {}
/** A retry's patch would leave the step unable to run (422). */
export class PatchRefused extends Error {}
/** A person's output that would take the flow past its output budget (422). */
export class OutputRefused extends Error {}

export async function resolveEscalation(tx: FlowTx, escalationId: string, r: Resolution): Promise<void> {
  const { rows } = await tx.client.query<OpenEscalation & { status: string }>(
    `SELECT id, kind, status, step_id AS "stepId", allowed_actions AS "allowedActions" FROM escalations WHERE id = $1 FOR UPDATE`,
    [escalationId],
  );
  const escalation = rows[0];
  if (!escalation) throw new CommandRefused(`escalation ${escalationId} does not exist`);
  if (escalation.status !== 'open') throw new CommandRefused(`escalation ${escalationId} is ${escalation.status}, not open`);
  if (!escalation.allowedActions.includes(r.action)) {
    throw new ActionNotAllowed(`a ${escalation.kind} escalation allows ${escalation.allowedActions.join(', ')}, not ${r.action}`);
  }
  const steps = await tx.client.query<StepRow>(`SELECT ${STEP_COLUMNS('s')} FROM steps s WHERE s.flow_id = $1 AND s.step_id = $2 FOR UPDATE`, [tx.flow.id, escalation.stepId]);
  const step = steps.rows[0]!;
  const resolution = { action: r.action, note: r.note ?? null, resolvedBy: r.resolvedBy, ...(r.output !== undefined ? { output: r.output } : {}), ...(r.patch ? { patch: r.patch } : {}) };
  await tx.client.query(`UPDATE escalations SET status = 'resolved', resolved_at = now(), resolved_by = $2, resolution = $3 WHERE id = $1`, [
    escalationId,
    r.resolvedBy,
    JSON.stringify(resolution),
  ]);
  tx.event('escalation.resolved', escalation.stepId, { escalationId, ...resolution });
  if (escalation.kind === 'compensation') return resolveCompensation(tx, step, r);
  return resolveStep(tx, step, r);
}

async function resolveStep(tx: FlowTx, step: StepRow, r: Resolution): Promise<void> {
  const waiting = ['waiting'];
  switch (r.action) {
    case 'retry': {
      const definition = r.patch ? applyPatch(step.definition, r.patch) : step.definition;
      // Expressions in the patch are evaluated when the step runs (and checked then).
      const problem = r.patch ? definitionProblem(applyPatch(step.definition, literalPatchEntries(r.patch))) : undefined;
      if (problem) throw new PatchRefused(`the patched step would not run: ${problem}`);
      await updateStepIfOwned(
        tx,
        step,
        null,
        `status = 'scheduled', due_action = 'attempt', run_at = now(), definition = $2, attempt = 0, counted_attempts = 0,
         correction_rerun = false, last_delay_ms = NULL`,
        [JSON.stringify(definition)],
        waiting,
      );
      tx.event('recovery.decided', step.stepId, { strategy: 'retry', reason: `retry requested by ${r.resolvedBy ?? 'a person'}` });
      tx.workDue();
      await refreshWaiting(tx);
      return;
    }
    case 'complete':
    case 'skip': {
      const bytes = outputBytes(r.output ?? null);
      if (!(await reserveOutputBytes(tx.client, tx.flow.id, bytes))) throw new OutputRefused(outputBudgetFailure(bytes).message);
      await recordStepSuccess(tx, step, r.output ?? null, {
        owner: null,
        status: r.action === 'complete' ? 'succeeded' : 'skipped',
        note: { resolvedBy: r.resolvedBy },
      });
      return;
    }
    case 'abort': {
      const error = { errorType: 'validation', message: `aborted by ${r.resolvedBy ?? 'a person'}${r.note ? `: ${r.note}` : ''}` };
      const ok = await updateStepIfOwned(tx, step, null, `status = 'failed', error = $2, finished_at = now(), run_at = NULL, due_action = NULL`, [JSON.stringify(error)], waiting);
      if (!ok) return;
      await settleFailedStep(tx, { ...step, status: 'waiting' }, error);
      await refreshWaiting(tx);
    }
  }
}

async function resolveCompensation(tx: FlowTx, step: StepRow, r: Resolution): Promise<void> {
  if (r.action === 'retry') {
    // A compensation runs as the plan defines it: a patch would be recorded and then ignored.
    if (r.patch) throw new PatchRefused('a compensation is retried as the plan defines it; retry it without a patch');
    await tx.client.query(
      `UPDATE steps SET compensation_status = 'running', compensation_attempt = 0, due_action = 'compensate', run_at = now(), updated_at = now() WHERE id = $1`,
      [step.id],
    );
    tx.workDue();
    return;
  }
  if (r.action === 'complete') {
    await tx.client.query(`UPDATE steps SET status = 'compensated', compensation_status = 'succeeded', updated_at = now() WHERE id = $1`, [step.id]);
    tx.event('compensation.succeeded', step.stepId, { resolvedBy: r.resolvedBy });
  }
  // skip: the compensation stays failed; the rest of the chain already moved on.
}
