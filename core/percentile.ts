/**
 * The project's one definition of a percentile: linear interpolation between closest ranks
 * (numpy's and pandas' default), used by the analysis and by the local Logs Insights `pct`.
 */

/**
 * The p-th percentile (0–100) of values already sorted ascending: rank h = (n − 1)·p/100, value
 * x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). NaN for an empty input.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? Number.NaN;
  if (lo + 1 >= n) return a;
  const b = sorted[lo + 1] ?? Number.NaN;
  return a + (h - lo) * (b - a);
}

/** The p-th percentile (0–100) of unsorted values; see {@link percentileSorted}. */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(Float64Array.from(values).sort(), p);
}
