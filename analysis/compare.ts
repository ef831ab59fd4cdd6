import { jStat } from "jstat";

/** One replicate of a cell: a response on the log scale, and its block (trial / round). */
export interface Replicate {
  readonly cellId: string;
  readonly block: number;
  /** ln of the per-run response, e.g. ln warm p95. */
  readonly y: number;
}

/** A cell compared with the best cell of its workload. */
export interface CellComparison {
  readonly cellId: string;
  readonly n: number;
  /** Mean of y: ln of the geometric mean. */
  readonly meanLog: number;
  /** exp(mean_c − mean_best): how many times slower than the best cell. */
  readonly ratioToBest: number;
  /** Tukey simultaneous 95% interval of that ratio (NaN when no test is possible). */
  readonly ratioLow: number;
  readonly ratioHigh: number;
  /** True when the lower bound of the ratio exceeds 1 + margin: significantly worse than the best. */
  readonly worse: boolean;
}

/** The best set of a workload: every cell not significantly worse than the best. */
export interface BestSet {
  readonly method: string;
  /** Error degrees of freedom and mean square of the model (NaN when untestable). */
  readonly df: number;
  readonly mse: number;
  /** Critical studentized range q_{0.95; k, df}. */
  readonly qCrit: number;
  readonly margin: number;
  readonly blocked: boolean;
  readonly best: string | undefined;
  readonly cells: readonly CellComparison[];
  /** Ids of the cells in the best set, best first. */
  readonly members: readonly string[];
  /** Why no test could be made (then every cell is in the best set). */
  readonly untestable?: string;
}

const Q_CACHE = new Map<string, number>();

/** q_{level; k, df} of the studentized range (jStat's port of R's qtukey), memoised. */
function qTukey(level: number, k: number, df: number): number {
  const key = `${level},${k},${df}`;
  let q = Q_CACHE.get(key);
  if (q === undefined) {
    q = jStat.tukey.inv(level, k, df);
    Q_CACHE.set(key, q);
  }
  return q;
}

/** Default equivalence margin: a cell less than 10% slower than the best is never excluded. */
export const EQUIVALENCE_MARGIN = 0.1;

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/**
 * Error mean square of the model: with blocks, the additive two-way model cell + block
 * (a randomised complete block design: every cell has one replicate in each of the same blocks),
 * residual SS = Σ(y − ȳ_cell − ȳ_block + ȳ)², df = (k − 1)(b − 1); without a complete block
 * layout, one-way: pooled within-cell SS, df = N − k.
 */
function errorTerm(byCell: Map<string, Replicate[]>): {
  mse: number;
  df: number;
  blocked: boolean;
} {
  const all = [...byCell.values()].flat();
  const blockSets = [...byCell.values()].map((l) =>
    l
      .map((r) => r.block)
      .sort((a, b) => a - b)
      .join(","),
  );
  const first = blockSets[0] ?? "";
  const complete =
    blockSets.every((s) => s === first) &&
    new Set(first.split(",")).size === (byCell.values().next().value?.length ?? 0) &&
    (byCell.values().next().value?.length ?? 0) >= 2 &&
    all.every((r) => Number.isFinite(r.block));
  const grand = all.reduce((s, r) => s + r.y, 0) / all.length;
  const cellMean = new Map(
    [...byCell].map(([id, l]) => [id, l.reduce((s, r) => s + r.y, 0) / l.length]),
  );
  if (complete) {
    const byBlock = groupBy(all, (r) => String(r.block));
    const blockMean = new Map(
      [...byBlock].map(([b, l]) => [b, l.reduce((s, r) => s + r.y, 0) / l.length]),
    );
    let ss = 0;
    for (const r of all) {
      ss +=
        (r.y - (cellMean.get(r.cellId) ?? 0) - (blockMean.get(String(r.block)) ?? 0) + grand) ** 2;
    }
    const df = (byCell.size - 1) * (byBlock.size - 1);
    return { mse: df > 0 ? ss / df : Number.NaN, df, blocked: true };
  }
  let ss = 0;
  for (const r of all) ss += (r.y - (cellMean.get(r.cellId) ?? 0)) ** 2;
  const df = all.length - byCell.size;
  return { mse: df > 0 ? ss / df : Number.NaN, df, blocked: false };
}

/**
 * Cells not significantly worse than the best (lowest mean y): Tukey HSD simultaneous 95%
 * intervals for every pairwise difference of cell means, y on the log scale, so a difference
 * is a ratio of geometric means. A cell leaves the best set only when its interval against the
 * best lies entirely above ln(1 + margin): it is significantly slower, and by more than the
 * margin. Because the intervals hold simultaneously for all pairs, the chance that any cell is
 * excluded when no cell truly differs is at most 5% (less with the margin).
 */
export function bestSet(
  replicates: readonly Replicate[],
  margin = EQUIVALENCE_MARGIN,
  level = 0.95,
): BestSet {
  const finite = replicates.filter((r) => Number.isFinite(r.y));
  const byCell = groupBy(finite, (r) => r.cellId);
  const means = [...byCell].map(([id, l]) => ({
    id,
    n: l.length,
    mean: l.reduce((s, r) => s + r.y, 0) / l.length,
  }));
  means.sort((a, b) => a.mean - b.mean || a.id.localeCompare(b.id));
  const best = means[0];
  const k = means.length;
  const method = `Tukey HSD on ln(per-run response), simultaneous ${Math.round(100 * level)}%, margin ${Math.round(100 * margin)}%`;
  const untestableSet = (why: string): BestSet => ({
    method,
    df: Number.NaN,
    mse: Number.NaN,
    qCrit: Number.NaN,
    margin,
    blocked: false,
    best: best?.id,
    cells: means.map((m) => ({
      cellId: m.id,
      n: m.n,
      meanLog: m.mean,
      ratioToBest: Math.exp(m.mean - (best?.mean ?? m.mean)),
      ratioLow: Number.NaN,
      ratioHigh: Number.NaN,
      worse: false,
    })),
    members: means.map((m) => m.id),
    untestable: why,
  });
  if (best === undefined) return untestableSet("no cell with a finite response");
  if (k === 1) return untestableSet("a single eligible cell");
  const { mse, df, blocked } = errorTerm(byCell);
  if (!(df > 0) || !Number.isFinite(mse)) {
    return untestableSet("no replicate runs to estimate the error (one run per cell)");
  }
  const qCrit = qTukey(level, k, df);
  const cells = means.map((m) => {
    const d = m.mean - best.mean;
    const half = qCrit * Math.sqrt((mse / 2) * (1 / m.n + 1 / best.n));
    return {
      cellId: m.id,
      n: m.n,
      meanLog: m.mean,
      ratioToBest: Math.exp(d),
      ratioLow: Math.exp(d - half),
      ratioHigh: Math.exp(d + half),
      worse: m.id !== best.id && d - half > Math.log(1 + margin),
    };
  });
  return {
    method: `${method}${blocked ? ", trials as blocks" : ""}`,
    df,
    mse,
    qCrit,
    margin,
    blocked,
    best: best.id,
    cells,
    members: cells.filter((c) => !c.worse).map((c) => c.cellId),
  };
}

/**
 * Whether two cells of a best-set comparison differ significantly by more than the margin
 * (the same Tukey intervals, for any pair): undefined when the comparison had no test.
 */
export function pairDiffers(s: BestSet, a: string, b: string): boolean | undefined {
  const x = s.cells.find((c) => c.cellId === a);
  const y = s.cells.find((c) => c.cellId === b);
  if (x === undefined || y === undefined || !Number.isFinite(s.qCrit)) return undefined;
  const half = s.qCrit * Math.sqrt((s.mse / 2) * (1 / x.n + 1 / y.n));
  return Math.abs(x.meanLog - y.meanLog) - half > Math.log(1 + s.margin);
}
