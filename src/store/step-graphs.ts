// The executor's memory of flows' dependency graphs. A flow's plan never
// changes once created, so the group commit reads (and parses) a flow's plan
// the first time it locks the flow and only its graph after that: the plan
// is the largest thing on the flow row. Bounded, least recently used first out.
import type { GraphNode } from '../domain/dependency-graph.js';
import { primaryDelayMs, type NormalizedPlan } from '../domain/plan.js';

export function graphOf(plan: NormalizedPlan): GraphNode[] {
  return plan.steps.map((s) => (primaryDelayMs(s) === null ? { id: s.id, dependsOn: s.dependsOn } : { id: s.id, dependsOn: s.dependsOn, delay: true }));
}

export function createStepGraphCache(limit = 10_000) {
  const graphs = new Map<string, GraphNode[]>();
  return {
    get(flowId: string): GraphNode[] | undefined {
      const graph = graphs.get(flowId);
      if (graph) {
        graphs.delete(flowId);
        graphs.set(flowId, graph);
      }
      return graph;
    },
    has: (flowId: string) => graphs.has(flowId),
    set(flowId: string, graph: GraphNode[]): void {
      graphs.delete(flowId);
      graphs.set(flowId, graph);
      if (graphs.size > limit) graphs.delete(graphs.keys().next().value!);
    },
    get size() {
      return graphs.size;
    },
  };
}

export type StepGraphCache = ReturnType<typeof createStepGraphCache>;
