import { jStat } from "jstat";

/** One observation of a factorial design: a level label per factor and the response. */
export interface Observation {
  readonly levels: readonly (string | number)[];
  readonly y: number;
  /** Block (trial / round) of the observation: a block term enters the model when every cell has one observation in each of the same blocks. */
  readonly block?: number;
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
 * The block (trial) term of a randomised complete block layout: every cell's kept observations
 * cover the same blocks once each, so blocks are orthogonal to the treatment terms and
 * SS_block = Σ_b n_b (ȳ_b − ȳ)² is taken out of the residual. Otherwise no block term, and why.
 */
function blockTerm(
  cells: ReadonlyMap<string, readonly { y: number; block: number }[]>,
  n: number,
  grand: number,
): { row?: { term: string; ss: number; df: number }; note?: string } {
  const kept = [...cells.values()].map((l) => l.slice(0, n));
  if (kept.every((l) => l.every((u) => Number.isNaN(u.block)))) return {};
  const key = (l: readonly { block: number }[]): string =>
    l
      .map((u) => u.block)
      .sort((a, b) => a - b)
      .join(",");
  const first = kept[0] ?? [];
  const blocks = new Set(first.map((u) => u.block));
  const complete =
    n >= 2 &&
    blocks.size === first.length &&
    first.every((u) => Number.isFinite(u.block)) &&
    kept.every((l) => key(l) === key(first));
  if (!complete)
    return { note: "no block term: cells do not share the same complete set of trials" };
  const sums = new Map<number, { s: number; c: number }>();
  for (const l of kept) {
    for (const u of l) {
      const b = sums.get(u.block) ?? { s: 0, c: 0 };
      sums.set(u.block, { s: b.s + u.y, c: b.c + 1 });
    }
  }
  let ss = 0;
  for (const { s, c } of sums.values()) ss += c * (s / c - grand) ** 2;
  return { row: { term: "trial (block)", ss, df: sums.size - 1 } };
}

/**
 * Holm's step-down adjustment of p values (NaN stays NaN and does not count): the i-th smallest
 * of m p values becomes max over j ≤ i of min(1, (m − j + 1) · p_(j)).
 */
export function holm(ps: readonly number[]): number[] {
  const idx = ps.map((p, i) => ({ p, i })).filter((x) => Number.isFinite(x.p));
  idx.sort((a, b) => a.p - b.p);
  const out = ps.map(() => Number.NaN);
  const m = idx.length;
  let running = 0;
  idx.forEach((x, j) => {
    running = Math.max(running, Math.min(1, (m - j) * x.p));
    out[x.i] = running;
  });
  return out;
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
  const cells = new Map<string, { y: number; block: number }[]>();
  for (const o of obs) {
    const key = index(o).join(",");
    const list = cells.get(key) ?? [];
    list.push({ y: o.y, block: o.block ?? Number.NaN });
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
  const used: { idx: number[]; y: number; block: number }[] = [];
  for (const [key, list] of cells) {
    const idx = key.split(",").map(Number);
    for (const u of list.slice(0, n)) used.push({ idx, y: u.y, block: u.block });
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
  const block = blockTerm(cells, n, grand);
  if (block.row !== undefined) pending.push(block.row);
  if (block.note !== undefined) notes.push(block.note);
  let sst = 0;
  for (const u of used) sst += (u.y - grand) ** 2;
  const ssModel = pending.reduce((s, r) => s + r.ss, 0);
  const dfModel = pending.reduce((s, r) => s + r.df, 0);
  const dfRes = N - 1 - dfModel;
  const ssRes = Math.max(0, sst - ssModel);
  const msRes = dfRes > 0 ? ssRes / dfRes : Number.NaN;
  for (const r of pending) {
    const ms = r.df > 0 ? r.ss / r.df : Number.NaN;
    const f = dfRes > 0 && msRes > 0 ? ms / msRes : Number.NaN;
    rows.push({ ...r, ms, f, p: upperTailF(f, r.df, dfRes) });
  }
  rows.push({ term: "residual", ss: ssRes, df: dfRes, ms: msRes, f: Number.NaN, p: Number.NaN });
  rows.push({ term: "total", ss: sst, df: N - 1, ms: Number.NaN, f: Number.NaN, p: Number.NaN });
  return { rows, replicates: n, droppedFactors, notes };
}
