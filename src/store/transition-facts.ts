// Facts about what a committed transaction did, for the metrics. Collected
// while the transaction runs and reported only after it commits, so counters
// move exactly once per durable change.

export type TransitionFact =
  | { kind: 'flow_ended'; status: string; durationMs: number }
  | { kind: 'attempt'; stepKind: string; outcome: 'succeeded' | 'failed'; durationMs: number }
  | { kind: 'episode'; strategy: string; outcome: string; durationMs: number }
  | { kind: 'classified'; errorType: string; severity: string }
  | { kind: 'circuit'; key: string; to: string };

export type FactListener = (facts: TransitionFact[]) => void;

/** Listeners of committed facts, one per database handle (process). */
export function createFactListeners() {
  const listeners = new Set<FactListener>();
  return {
    on(listener: FactListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(facts: TransitionFact[]): void {
      if (facts.length === 0) return;
      for (const l of listeners) l(facts);
    },
  };
}
