// Numbers read out of stored JSON definitions in SQL. Patches and escalation
// answers once wrote any JSON there, and a cast of "abc" or 1e300 fails the
// whole statement (a claim of every task of a type, a settle of a batch): a
// value that is not a whole number in range reads as `fallback` instead.

/**
 * `json->key` as an integer in [min, max], else `fallback` (SQL). CASE, not
 * AND: Postgres may evaluate AND's operands in any order, CASE's in order.
 */
export function jsonInteger(json: string, key: string, min: number, max: number, fallback: string): string {
  const v = `(${json}->'${key}')`;
  return `(CASE WHEN jsonb_typeof(${v}) IS DISTINCT FROM 'number' THEN ${fallback}
               WHEN ${v}::numeric BETWEEN ${min} AND ${max} AND ${v}::numeric = trunc(${v}::numeric) THEN ${v}::numeric::bigint
               ELSE ${fallback} END)`;
}
