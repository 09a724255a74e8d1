// SQL fragments shared by the statements that make steps due (flow creation,
// the settle of successes, the bulk firing of timers): a `delay` step becoming
// due is parked on its timer at once instead of waiting for a claim.

/** `timer` (the step's current definition is a delay) and `delay_ms`, for a select list over steps `alias`. */
export function delayOf(alias: string): string {
  return `COALESCE(${alias}.definition->>'kind' = 'delay', false) AS timer, (${alias}.definition->>'delayMs')::bigint AS delay_ms`;
}

/** The run_at of a delay parked now, from the `delay_ms` column of `source`. */
export function parkedRunAt(source: string): string {
  return `now() + ${source}.delay_ms * interval '1 millisecond'`;
}
