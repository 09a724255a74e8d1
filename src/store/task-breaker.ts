// The breaker outcome of a worker's answer (task steps default to task:<type>).
// A success on a closed breaker only stamps last_success_at. An answer to a
// task offered as a half-open probe counts for that probe's round and frees
// its slot; any other answer is an ordinary call.
import { countsAgainstBreaker } from '../domain/breaker.js';
import type { ErrorType } from '../domain/statuses.js';
import { breakerKey } from '../executor/breaker-gate.js';
import type { Queryable } from './database.js';
import { applyBreakerEvent } from './circuit-store.js';

/** `probe`: the half-open round and slot the task was offered in, or null when the offer was not a probe. */
export async function recordTaskBreakerOutcome(
  client: Queryable,
  definition: Parameters<typeof breakerKey>[0],
  probe: { epoch: number; slot: number } | null,
  errorType: ErrorType | null,
  now: number,
): Promise<void> {
  const key = breakerKey(definition);
  if (!key) return;
  if (errorType === null) {
    // A success on a closed breaker only needs its time recorded (failures compare against it).
    const { rows } = await client.query<{ state: string }>(
      `UPDATE circuits SET last_success_at = GREATEST(coalesce(last_success_at, $2), $2) WHERE key = $1 RETURNING state`,
      [key, new Date(now)],
    );
    if (!rows[0] || rows[0].state === 'closed') return;
  }
  const type = errorType === null ? 'success' : countsAgainstBreaker(errorType) ? 'failure' : 'neutral';
  await applyBreakerEvent(client, key, probe ? { type, probe: true, epoch: probe.epoch, slot: probe.slot } : { type, probe: false }, now);
}
