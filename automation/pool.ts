/**
 * A bounded-concurrency pool: runs `count` tasks with at most `concurrency` in flight, each
 * worker taking the next index as soon as its previous task settles (an offered load of
 * `concurrency` requests, as a load generator should offer it).
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && signal?.aborted !== true) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker);
  await Promise.all(workers);
  // Only the started tasks have results when the run was aborted.
  return results.slice(0, next);
}
