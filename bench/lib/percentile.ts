// Nearest-rank percentile of a sample, for benchmark summaries.

/** The p-th percentile (0..100) of `values`, nearest rank; 0 for an empty sample. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
