import { jStat } from "jstat";

/** A two-sided t interval of a geometric mean, with its achieved precision. */
export interface GeoMeanInterval {
  /** Values the interval was computed from (finite and > 0). */
  readonly n: number;
  /** exp(mean of ln values): the geometric mean. */
  readonly estimate: number;
  /** NaN with fewer than 2 values. */
  readonly low: number;
  readonly high: number;
  /**
   * Achieved precision as a relative half-width: exp(t · s / √n) − 1, so the interval is
   * estimate ÷ (1 + precision) … estimate × (1 + precision). NaN with fewer than 2 values.
   */
  readonly precision: number;
}

/** Two-sided Student t quantile: the t with P(|T_df| ≤ t) = level. */
export function tQuantile(level: number, df: number): number {
  return jStat.studentt.inv((1 + level) / 2, df);
}

/**
 * t interval on the log scale: values are per-run statistics (e.g. each run's warm p95), ln is
 * taken, mean ± t_{(1+level)/2, n−1} · s / √n, exponentiated. This treats each run as one
 * replicate (its invocations are not independent replicates of the cell: runs differ by more
 * than their within-run noise), and ln makes a multiplicative spread symmetric. Non-positive
 * and non-finite values are ignored.
 */
export function geoMeanTInterval(values: readonly number[], level = 0.95): GeoMeanInterval {
  const logs = values.filter((v) => Number.isFinite(v) && v > 0).map(Math.log);
  const n = logs.length;
  if (n === 0) {
    return {
      n,
      estimate: Number.NaN,
      low: Number.NaN,
      high: Number.NaN,
      precision: Number.NaN,
    };
  }
  const m = logs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) {
    return { n, estimate: Math.exp(m), low: Number.NaN, high: Number.NaN, precision: Number.NaN };
  }
  const s = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const half = (tQuantile(level, n - 1) * s) / Math.sqrt(n);
  return {
    n,
    estimate: Math.exp(m),
    low: Math.exp(m - half),
    high: Math.exp(m + half),
    precision: Math.exp(half) - 1,
  };
}

/** "±12%" for a precision from {@link geoMeanTInterval}; "n/a (1 run)" style when unknown. */
export function formatPrecision(i: GeoMeanInterval): string {
  if (!Number.isFinite(i.precision)) return `n/a (${i.n} run${i.n === 1 ? "" : "s"})`;
  return `×/÷ ${(1 + i.precision).toFixed(2)} (±${(100 * i.precision).toFixed(0)}%)`;
}
