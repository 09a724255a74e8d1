// A flow's step outputs are bounded as a whole, not only each (1 MiB): the
// flow view holds every output twice (`output` and `steps[].output`), so a
// 200-step flow of 1 MiB outputs made a 420 MB answer, and a few concurrent
// reads took gigabytes. Outputs of COUNTED_OUTPUT_BYTES or more reserve their
// size on the flow row before they are stored; one that would take the flow
// past FLOW_OUTPUT_BUDGET_BYTES is refused: the attempt fails (validation,
// OUTPUT_BUDGET_EXCEEDED, not retryable) and the ladder goes on (a fallback
// or degradation with a smaller output can still succeed). Smaller outputs
// are not counted (200 steps under 64 KiB stay under 13 MiB), so the hot path
// pays nothing. A reservation whose output is then not stored (a lost lease)
// stays counted until a restart recounts: the bound errs on the safe side.
import type { Failure } from '../domain/classifier.js';
import type { Queryable } from './database.js';

/** A pool or a transaction's client. */
type Runs = { query(text: string, values: unknown[]): Promise<{ rowCount: number | null }> };

/** Most bytes of counted outputs one flow holds. */
export const FLOW_OUTPUT_BUDGET_BYTES = 32 * 1024 * 1024;
/** Outputs at least this large count against the budget. */
export const COUNTED_OUTPUT_BYTES = 64 * 1024;

/**
 * Reserves `bytes` of `flowId`'s budget for an output about to be stored;
 * false when it would not fit. Run it in the transaction that holds the flow's
 * lock when there is one (a second connection would wait for that lock).
 */
export async function reserveOutputBytes(client: Runs, flowId: string, bytes: number): Promise<boolean> {
  if (bytes < COUNTED_OUTPUT_BYTES) return true;
  const { rowCount } = await client.query(
    `UPDATE flows SET large_output_bytes = large_output_bytes + $2 WHERE id = $1 AND large_output_bytes + $2 <= $3`,
    [flowId, bytes, FLOW_OUTPUT_BUDGET_BYTES],
  );
  return rowCount === 1;
}

/** The attempt's failure when its output did not fit. */
export function outputBudgetFailure(bytes: number): Failure {
  return {
    source: 'internal',
    message: `a step output of ${bytes} bytes would take the flow's outputs past its ${FLOW_OUTPUT_BUDGET_BYTES}-byte budget (outputs of ${COUNTED_OUTPUT_BYTES} bytes or more count)`,
    code: 'OUTPUT_BUDGET_EXCEEDED',
    hintType: 'validation',
    retryable: false,
  };
}

/** Bytes of an output as stored, as the budget counts them. */
export function outputBytes(output: unknown): number {
  return Buffer.byteLength(JSON.stringify(output ?? null));
}

/**
 * Recounts the budget from the outputs a restart keeps (every step not in
 * `resetIds`), measured as reservations measure them (JSON.stringify's bytes).
 * jsonb's own text is never shorter (it adds a space after each ':' and ','),
 * so it picks the outputs that may count without reading the small ones.
 */
export async function recountOutputBytes(client: Queryable, flowId: string, resetIds: string[]): Promise<void> {
  const { rows } = await client.query<{ output: unknown }>(
    `SELECT output FROM steps WHERE flow_id = $1 AND output IS NOT NULL AND NOT (step_id = ANY($2::text[])) AND octet_length(output::text) >= $3`,
    [flowId, resetIds, COUNTED_OUTPUT_BYTES],
  );
  const bytes = rows.map((r) => outputBytes(r.output)).filter((b) => b >= COUNTED_OUTPUT_BYTES).reduce((sum, b) => sum + b, 0);
  await client.query(`UPDATE flows SET large_output_bytes = $2 WHERE id = $1`, [flowId, bytes]);
}
