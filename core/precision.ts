/**
 * How many invocations a p95 needs: pure formulas behind the precision line of the plan
 * (`--dry-run`, `--precision`, `--sigma`).
 *
 * - To *bound* a p95 at all: the largest of n invocations exceeds the true p95 with probability
 *   1 − 0.95ⁿ, so n ≥ 59 makes the sample maximum a 95 % upper bound (0.95⁵⁹ ≈ 0.0485 ≤ 0.05).
 * - For a *relative precision* ±X of a p95: a sample p-quantile is asymptotically normal with
 *   variance p(1−p) / (n f(q)²), f the density at the quantile q. Under a log-normal with
 *   log-scale σ, f(q) = φ(z_p) / (q σ), so the relative standard error is
 *   σ √(p(1−p)) / (φ(z_p) √n) (the same, to first order, on ln q), and a two-sided interval of
 *   confidence c has half-width z_{(1+c)/2} times it.
 */

/** The defaults of the precision line. */
export const PRECISION_DEFAULTS = {
  /** The quantile whose precision is planned: the experiment's p95. */
  quantile: 0.95,
  /** Two-sided confidence of the interval. */
  confidence: 0.95,
  /** Relative half-width wanted, percent (`--precision`). */
  relativePct: 10,
  /**
   * Log-scale standard deviation of warm invocation latencies within a cell (`--sigma`). Issue
   * 12 measured that ±10 % on a p95 needs ≈ 560 warm invocations at the spread of a local full
   * matrix; solving the formula above for σ gives 0.571, so 0.57 (558 invocations). At σ 0.57 a
   * cell's p95 is exp(1.645 × 0.57) ≈ 2.6 × its median.
   */
  sigma: 0.57,
} as const;

// Acklam's rational approximation of the normal quantile (relative error < 1.2e-9).
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
  -3.066479806614716e1, 2.506628277459239,
] as const;
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
  -1.328068155288572e1,
] as const;
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
] as const;
const D = [
  7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416,
] as const;
const P_LOW = 0.02425;

function checkProbability(name: string, p: number): void {
  if (!(p > 0 && p < 1)) throw new RangeError(`${name} must be in (0, 1), got ${p}`);
}

/** The standard normal quantile z_p (inverse CDF), p in (0, 1). */
export function normalQuantile(p: number): number {
  checkProbability("p", p);
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
    );
  }
  if (p > 1 - P_LOW) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

/** The standard normal density φ(x). */
export function normalDensity(x: number): number {
  return Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
}

/**
 * The fewest invocations whose maximum bounds the p-quantile from above with the given
 * confidence: the smallest n with pⁿ ≤ 1 − confidence (59 for a p95 at 95 %).
 */
export function invocationsToBoundQuantile(
  quantile: number = PRECISION_DEFAULTS.quantile,
  confidence: number = PRECISION_DEFAULTS.confidence,
): number {
  checkProbability("quantile", quantile);
  checkProbability("confidence", confidence);
  let n = Math.ceil(Math.log(1 - confidence) / Math.log(quantile));
  // Guard the ceiling against rounding on either side of an exact power.
  while (quantile ** n > 1 - confidence) n++;
  while (n > 1 && quantile ** (n - 1) <= 1 - confidence) n--;
  return n;
}

/** The spread and confidence a precision is computed at. */
export interface PrecisionModel {
  /** Quantile, default 0.95. */
  readonly quantile?: number;
  /** Log-normal σ of the latencies, default {@link PRECISION_DEFAULTS.sigma}. */
  readonly sigma?: number;
  /** Two-sided confidence, default 0.95. */
  readonly confidence?: number;
}

function coefficient(model: PrecisionModel): number {
  const p = model.quantile ?? PRECISION_DEFAULTS.quantile;
  const sigma = model.sigma ?? PRECISION_DEFAULTS.sigma;
  const c = model.confidence ?? PRECISION_DEFAULTS.confidence;
  checkProbability("quantile", p);
  checkProbability("confidence", c);
  if (!(sigma > 0)) throw new RangeError(`sigma must be > 0, got ${sigma}`);
  return (
    (normalQuantile((1 + c) / 2) * sigma * Math.sqrt(p * (1 - p))) /
    normalDensity(normalQuantile(p))
  );
}

/**
 * The relative half-width (0.1 = ±10 %) of the confidence interval of a p-quantile estimated
 * from `n` invocations, under the log-normal model.
 */
export function relativeHalfWidth(n: number, model: PrecisionModel = {}): number {
  if (!(n > 0)) throw new RangeError(`n must be > 0, got ${n}`);
  return coefficient(model) / Math.sqrt(n);
}

/**
 * The invocations needed for a relative half-width `relative` (0.1 = ±10 %) of a p-quantile's
 * confidence interval, under the log-normal model: ⌈(coefficient / relative)²⌉.
 */
export function invocationsForPrecision(relative: number, model: PrecisionModel = {}): number {
  if (!(relative > 0)) throw new RangeError(`relative must be > 0, got ${relative}`);
  return Math.ceil((coefficient(model) / relative) ** 2);
}
