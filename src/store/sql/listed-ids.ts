// The ids of a statement's JSON array parameter, for `id = ANY(...)`.
//
// The statements that update rows listed in a parameter say `id = ANY(...)`
// besides joining the expanded list on id: the planner answers the former
// from the primary key at any table size. A join alone let a plan made while
// the table was small (a prepared statement's generic plan, kept until the
// table's next ANALYZE, never with autovacuum off) read every row instead
// (test/store/small-table-plans.test.ts).

/** `ARRAY(...)` of the `id` field of each element of JSON array parameter `$param`, as uuids. */
export function idsListedIn(param: number): string {
  return `ARRAY(SELECT (e->>'id')::uuid FROM jsonb_array_elements($${param}::jsonb) AS e)`;
}
