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
  /** Sample variance of y (block-adjusted when blocks are in the model); NaN below 2 runs. */
  readonly variance: number;
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
  /** Simultaneous confidence level. */
  readonly level: number;
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

/**
 * Games–Howell half-width for the difference of two cell means: q_{level; k, ν} ·
 * √((s₁²/n₁ + s₂²/n₂) / 2) with Welch–Satterthwaite ν. 0 when either cell has no variance
 * estimate (then Tukey's pooled interval stands alone).
 */
function gamesHowellHalfWidth(
  a: { n: number; variance: number },
  b: { n: number; variance: number },
  k: number,
  level: number,
): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  if (!Number.isFinite(va) || !Number.isFinite(vb) || va + vb <= 0) return 0;
  const nu = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  // ν rounded down (conservative, and q is then memoised per integer df). jStat's q is NaN at
  // ν = 1 (R's qtukey is unreliable there too): no finite bound, so the interval is unbounded.
  const q = qTukey(level, k, Math.max(1, Math.floor(nu)));
  return Number.isFinite(q) ? q * Math.sqrt((va + vb) / 2) : Number.POSITIVE_INFINITY;
}

/**
 * Half-width of the simultaneous interval of a difference of two cell means: the wider of
 * Tukey's pooled-error interval and Games–Howell's, which uses each cell's own variance —
 * pooling assumes every cell is as noisy as the average, and a quiet cell next to a noisy one
 * would otherwise be "significantly" different on noise alone.
 */
function pairHalfWidth(
  qCrit: number,
  mse: number,
  a: { n: number; variance: number },
  b: { n: number; variance: number },
  k: number,
  level: number,
): number {
  return Math.max(
    qCrit * Math.sqrt((mse / 2) * (1 / a.n + 1 / b.n)),
    gamesHowellHalfWidth(a, b, k, level),
  );
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
  /** ȳ_block − ȳ per block (empty without blocks). */
  blockShift: Map<string, number>;
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
    const blockShift = new Map([...blockMean].map(([b, m]) => [b, m - grand]));
    return { mse: df > 0 ? ss / df : Number.NaN, df, blocked: true, blockShift };
  }
  let ss = 0;
  for (const r of all) ss += (r.y - (cellMean.get(r.cellId) ?? 0)) ** 2;
  const df = all.length - byCell.size;
  return { mse: df > 0 ? ss / df : Number.NaN, df, blocked: false, blockShift: new Map() };
}

/**
 * Cells not significantly worse than the best (lowest mean y): simultaneous 95% intervals for
 * every pairwise difference of cell means — the wider of Tukey HSD (pooled error, trials as
 * blocks when complete) and Games–Howell (each cell's own variance) — with y on the log scale,
 * so a difference is a ratio of geometric means. A cell leaves the best set only when its interval against the
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
  const method = `Tukey HSD and Games–Howell (the wider interval) on ln(per-run response), simultaneous ${Math.round(100 * level)}%, margin ${Math.round(100 * margin)}%`;
  const untestableSet = (why: string): BestSet => ({
    method,
    df: Number.NaN,
    mse: Number.NaN,
    qCrit: Number.NaN,
    margin,
    level,
    blocked: false,
    best: best?.id,
    cells: means.map((m) => ({
      cellId: m.id,
      n: m.n,
      meanLog: m.mean,
      variance: Number.NaN,
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
  const { mse, df, blocked, blockShift } = errorTerm(byCell);
  // Each cell's own variance, of block-adjusted values when blocks are in the model.
  const variance = new Map(
    [...byCell].map(([id, l]) => {
      const ys = l.map((r) => r.y - (blockShift.get(String(r.block)) ?? 0));
      const m = ys.reduce((a, b) => a + b, 0) / ys.length;
      const v =
        ys.length > 1 ? ys.reduce((a, b) => a + (b - m) ** 2, 0) / (ys.length - 1) : Number.NaN;
      return [id, v] as const;
    }),
  );
  const withVar = (m: { id: string; n: number }) => ({
    n: m.n,
    variance: variance.get(m.id) ?? Number.NaN,
  });
  if (!(df > 0) || !Number.isFinite(mse)) {
    return untestableSet("no replicate runs to estimate the error (one run per cell)");
  }
  const qCrit = qTukey(level, k, df);
  const cells = means.map((m) => {
    const d = m.mean - best.mean;
    const half = pairHalfWidth(qCrit, mse, withVar(m), withVar(best), k, level);
    return {
      cellId: m.id,
      n: m.n,
      meanLog: m.mean,
      variance: withVar(m).variance,
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
    level,
    blocked,
    best: best.id,
    cells,
    members: cells.filter((c) => !c.worse).map((c) => c.cellId),
  };
}

/**
 * Whether two cells of a best-set comparison differ significantly by more than the margin
 * (the same simultaneous intervals, for any pair): undefined when the comparison had no test.
 */
export function pairDiffers(s: BestSet, a: string, b: string): boolean | undefined {
  const x = s.cells.find((c) => c.cellId === a);
  const y = s.cells.find((c) => c.cellId === b);
  if (x === undefined || y === undefined || !Number.isFinite(s.qCrit)) return undefined;
  const half = pairHalfWidth(s.qCrit, s.mse, x, y, s.cells.length, s.level);
  return Math.abs(x.meanLog - y.meanLog) - half > Math.log(1 + s.margin);
}
