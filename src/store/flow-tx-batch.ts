// Many FlowTx in one database transaction (the executor's group commit):
// every flow locked by one statement (their changes are written together by
// finishAll, flow-writes.ts).
import type pg from 'pg';
import type { GraphNode } from '../domain/dependency-graph.js';
import { FLOW_COLUMNS, FlowTx, type FlowRow } from './flow-tx.js';
import { prepared } from './prepared.js';
import { graphOf, type StepGraphCache } from './step-graphs.js';

/** FLOW_COLUMNS, with the plan only of flows not in `$2` (the ids whose graphs are known). */
const FLOW_COLUMNS_UNLESS_KNOWN = FLOW_COLUMNS.replace(' plan,', ' CASE WHEN id = ANY($2::uuid[]) THEN NULL ELSE plan END AS plan,');

/**
 * Locks the flows (in id order, the order every batch uses) and opens a
 * FlowTx for each that exists. `columns`: FLOW_COLUMNS, or a leaner list for
 * a caller that knows which fields its transitions read. With `graphs`, the
 * plans of flows whose graphs it holds are not read (their FlowTx gets the
 * graph instead), and the graphs of the plans read are added to it.
 */
export async function openFlowTxs(client: pg.PoolClient, flowIds: string[], columns = FLOW_COLUMNS, graphs?: StepGraphCache): Promise<Map<string, FlowTx>> {
  const ids = [...new Set(flowIds)].sort();
  // Taken before the lock query waits: parallel batches may evict these entries meanwhile.
  const known = new Map<string, GraphNode[]>();
  if (graphs && columns === FLOW_COLUMNS) {
    for (const id of ids) {
      const graph = graphs.get(id);
      if (graph) known.set(id, graph);
    }
  }
  const { rows } =
    known.size > 0
      ? await client.query<FlowRow>(prepared(`SELECT ${FLOW_COLUMNS_UNLESS_KNOWN} FROM flows WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids, [...known.keys()]]))
      : await client.query<FlowRow>(prepared(`SELECT ${columns} FROM flows WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids]));
  return new Map(
    rows.map((row) => {
      if (!row.plan) return [row.id, new FlowTx(client, row, 'executor', known.get(row.id))];
      const graph = graphOf(row.plan);
      graphs?.set(row.id, graph);
      return [row.id, new FlowTx(client, row, 'executor', graph)];
    }),
  );
}
