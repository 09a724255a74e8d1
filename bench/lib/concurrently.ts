// Runs fn(0) .. fn(count - 1) with at most `concurrency` running at once, in
// index order: how the benchmarks' load generators submit flows. After a
// call fails no new one starts, and the first failure is thrown.
export async function forEachConcurrently(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (error) {
        next = count; // the other workers stop too
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
