// The breaker outcome of a worker's answer (task steps default to task:<type>).
// A success on a quiet closed breaker writes nothing and takes no lock, so
// workers of one type do not queue on the circuit row.
import { countsAgainstBreaker } from '../domain/breaker.js';
import type { ErrorType } from '../domain/statuses.js';
import { breakerKey } from '../executor/breaker-gate.js';
import type { Queryable } from './database.js';
import { applyBreakerEvent } from './circuit-store.js';

export async function recordTaskBreakerOutcome(client: Queryable, definition: Parameters<typeof breakerKey>[0], errorType: ErrorType | null, now: number): Promise<void> {
  const key = breakerKey(definition);
  if (!key) return;
  if (errorType === null) {
    const { rows } = await client.query<{ quiet: boolean }>(
      `SELECT state = 'closed' AND consecutive_failures = 0 AND (config IS NULL OR config->'failureRateThreshold' IS NULL OR config->'failureRateThreshold' = 'null'::jsonb) AS quiet
         FROM circuits WHERE key = $1`,
      [key],
    );
    if (!rows[0] || rows[0].quiet) return;
  }
  const type = errorType === null ? 'success' : countsAgainstBreaker(errorType) ? 'failure' : 'neutral';
  await applyBreakerEvent(client, key, { type, probe: true }, now);
}
