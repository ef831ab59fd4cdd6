/** The percentile definition lives in core/percentile.ts (the local Logs server uses it too). */
export { percentile, percentileSorted } from "../core/percentile";

/** Arithmetic mean; NaN for an empty input. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] ?? 0;
  return s / values.length;
}

/** Sample standard deviation (n − 1 denominator, as pandas); NaN for fewer than 2 values. */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += ((values[i] ?? 0) - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/**
 * Indices of the Pareto-optimal points when both coordinates are minimised: no other point is
 * at least as good in both and strictly better in one. Points with a NaN coordinate never qualify.
 */
export function paretoMinMin(
  points: readonly { readonly x: number; readonly y: number }[],
): number[] {
  const out: number[] = [];
  points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) return;
    const dominated = points.some(
      (q, j) =>
        j !== i &&
        Number.isFinite(q.x) &&
        Number.isFinite(q.y) &&
        q.x <= p.x &&
        q.y <= p.y &&
        (q.x < p.x || q.y < p.y),
    );
    if (!dominated) out.push(i);
  });
  return out;
}
