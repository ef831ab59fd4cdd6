import { jStat } from "jstat";

/** One observation of a factorial design: a level label per factor and the response. */
export interface Observation {
  readonly levels: readonly (string | number)[];
  readonly y: number;
}

/** One row of an ANOVA table. */
export interface AnovaRow {
  /** Factor name, `A×B` for an interaction, `residual` or `total`. */
  readonly term: string;
  readonly ss: number;
  readonly df: number;
  /** NaN for `total`. */
  readonly ms: number;
  /** NaN for `residual`, `total`, and when the residual has no degrees of freedom. */
  readonly f: number;
  readonly p: number;
}

/** An ANOVA table, or why none could be computed. */
export interface AnovaResult {
  readonly rows: readonly AnovaRow[];
  /** Replicates per cell actually used (after trimming an unbalanced design). */
  readonly replicates: number;
  /** Factors left out because they had a single level. */
  readonly droppedFactors: readonly string[];
  /** Human-readable notes (trimming, dropped factors), empty when none. */
  readonly notes: readonly string[];
}

/** Why an ANOVA could not be computed. */
export interface AnovaUnavailable {
  readonly rows: readonly [];
  readonly reason: string;
}

/** True when the ANOVA was computed. */
export function hasAnova(r: AnovaResult | AnovaUnavailable): r is AnovaResult {
  return !("reason" in r);
}

function upperTailF(f: number, df1: number, df2: number): number {
  if (!Number.isFinite(f) || df1 <= 0 || df2 <= 0) return Number.NaN;
  // Upper tail as a regularized incomplete beta: 1 − cdf would round to 0 for large F.
  return jStat.ibeta(df2 / (df2 + df1 * f), df2 / 2, df1 / 2);
}

/**
 * Fixed-effects factorial ANOVA of a full, balanced grid: main effects and all two-way
 * interactions; everything else (three-way and higher interactions plus pure error) is pooled
 * into the residual. With two factors the residual is exactly the error term of the textbook
 * two-factor model. NaN responses are dropped; an unbalanced grid is trimmed to the smallest
 * replicate count per cell (first observations kept, noted); a factor with one level is left out.
 * Sums of squares from the balanced-design formulas, e.g. SS_A = (N / a)·Σᵢ(ȳᵢ − ȳ)² and
 * SS_AB = (N / ab)·Σᵢⱼ(ȳᵢⱼ − ȳᵢ − ȳⱼ + ȳ)²; F = MS / MS_residual; p = P(F_{df, df_res} > F).
 */
export function factorialAnova(
  factorNames: readonly string[],
  observations: readonly Observation[],
): AnovaResult | AnovaUnavailable {
  const obs = observations.filter((o) => Number.isFinite(o.y));
  if (obs.length === 0) return { rows: [], reason: "no observations with a finite response" };
  const levelSets = factorNames.map((_, f) => [...new Set(obs.map((o) => String(o.levels[f])))]);
  const kept = factorNames.map((_, f) => f).filter((f) => (levelSets[f]?.length ?? 0) > 1);
  const droppedFactors = factorNames.filter((_, f) => !kept.includes(f));
  if (kept.length === 0) return { rows: [], reason: "every factor has a single level" };
  const names = kept.map((f) => factorNames[f] ?? "");
  const levels = kept.map((f) => levelSets[f] ?? []);
  const sizes = levels.map((l) => l.length);
  const index = (o: Observation): number[] =>
    kept.map((f, j) => (levels[j] ?? []).indexOf(String(o.levels[f])));

  // Group by full cell, keep the first `n` of each.
  const cells = new Map<string, number[]>();
  for (const o of obs) {
    const key = index(o).join(",");
    const list = cells.get(key) ?? [];
    list.push(o.y);
    cells.set(key, list);
  }
  const gridSize = sizes.reduce((a, b) => a * b, 1);
  if (cells.size < gridSize) {
    return {
      rows: [],
      reason: `incomplete grid: ${cells.size} of ${gridSize} cells have observations`,
    };
  }
  const counts = [...cells.values()].map((l) => l.length);
  const n = Math.min(...counts);
  const notes: string[] = [];
  if (Math.max(...counts) !== n) {
    notes.push(
      `unbalanced replicates (${Math.min(...counts)}–${Math.max(...counts)}); trimmed to ${n} per cell`,
    );
  }
  if (droppedFactors.length > 0)
    notes.push(`single-level factor(s) left out: ${droppedFactors.join(", ")}`);
  const used: { idx: number[]; y: number }[] = [];
  for (const [key, list] of cells) {
    const idx = key.split(",").map(Number);
    for (const y of list.slice(0, n)) used.push({ idx, y });
  }
  const N = used.length;
  const grand = used.reduce((s, u) => s + u.y, 0) / N;
  const k = kept.length;
  const marg = (f: number): Float64Array => {
    const sums = new Float64Array(sizes[f] ?? 0);
    for (const u of used) sums[u.idx[f] ?? 0] = (sums[u.idx[f] ?? 0] ?? 0) + u.y;
    const per = N / (sizes[f] ?? 1);
    return sums.map((s) => s / per);
  };
  const means = names.map((_, f) => marg(f));
  const rows: AnovaRow[] = [];
  const pending: { term: string; ss: number; df: number }[] = [];
  for (let f = 0; f < k; f++) {
    const m = means[f] ?? new Float64Array();
    let ss = 0;
    for (const v of m) ss += (v - grand) ** 2;
    pending.push({ term: names[f] ?? "", ss: (N / (sizes[f] ?? 1)) * ss, df: (sizes[f] ?? 1) - 1 });
  }
  for (let f = 0; f < k; f++) {
    for (let g = f + 1; g < k; g++) {
      const a = sizes[f] ?? 1;
      const b = sizes[g] ?? 1;
      const sums = new Float64Array(a * b);
      for (const u of used) {
        const c = (u.idx[f] ?? 0) * b + (u.idx[g] ?? 0);
        sums[c] = (sums[c] ?? 0) + u.y;
      }
      const per = N / (a * b);
      let ss = 0;
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) {
          const cellMean = (sums[i * b + j] ?? 0) / per;
          const d = cellMean - (means[f]?.[i] ?? 0) - (means[g]?.[j] ?? 0) + grand;
          ss += d * d;
        }
      }
      pending.push({ term: `${names[f]}×${names[g]}`, ss: per * ss, df: (a - 1) * (b - 1) });
    }
  }
  let sst = 0;
  for (const u of used) sst += (u.y - grand) ** 2;
  const ssModel = pending.reduce((s, r) => s + r.ss, 0);
  const dfModel = pending.reduce((s, r) => s + r.df, 0);
  const dfRes = N - 1 - dfModel;
  const ssRes = Math.max(0, sst - ssModel);
  const msRes = dfRes > 0 ? ssRes / dfRes : Number.NaN;
  for (const r of pending) {
    const ms = r.ss / r.df;
    const f = dfRes > 0 && msRes > 0 ? ms / msRes : Number.NaN;
    rows.push({ ...r, ms, f, p: upperTailF(f, r.df, dfRes) });
  }
  rows.push({ term: "residual", ss: ssRes, df: dfRes, ms: msRes, f: Number.NaN, p: Number.NaN });
  rows.push({ term: "total", ss: sst, df: N - 1, ms: Number.NaN, f: Number.NaN, p: Number.NaN });
  return { rows, replicates: n, droppedFactors, notes };
}
