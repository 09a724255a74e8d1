// The step dependency graph: resolved dependsOn lists, cycle detection and
// transitive dependents. Pure.

export interface GraphNode {
  id: string;
  dependsOn: string[];
  /** A `delay` step (its plan's primary): when it becomes due it is parked on its timer, not claimed, so it needs no execution slot. */
  delay?: boolean;
}

/** `dependsOn` omitted = the previous step in the array; the first step depends on nothing. */
export function resolveDependencies(steps: { id: string; dependsOn?: string[] | undefined }[]): GraphNode[] {
  return steps.map((step, i) => ({
    id: step.id,
    dependsOn: step.dependsOn ?? (i === 0 ? [] : [steps[i - 1]!.id]),
  }));
}

/** The first cycle found, as a list of ids that starts and ends with the same id; undefined if acyclic. */
export function findCycle(nodes: GraphNode[]): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.id, n.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };

  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

/** Every step that depends, directly or not, on any of `roots` (roots excluded). */
export function transitiveDependents(nodes: GraphNode[], roots: string[]): string[] {
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    for (const dep of node.dependsOn) dependents.set(dep, [...(dependents.get(dep) ?? []), node.id]);
  }
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    for (const next of dependents.get(queue.shift()!) ?? []) {
      if (!seen.has(next) && !roots.includes(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return nodes.map((n) => n.id).filter((id) => seen.has(id));
}
