/** The best cells of a workload per invocation (for reference, not the pick) and its Pareto front. */
import type { Workload } from "../core/cell";
import type { CellStats } from "./cells";
import { type Ineligibility, type IneligibleCode, lossReason } from "./eligibility";
import { paretoMinMin } from "./stats";

/** The best cell of a workload for each objective, and the cost-vs-p95 Pareto front. */
export interface Recommendation {
  readonly workload: Workload;
  readonly fastest: CellStats | undefined;
  readonly highestThroughput: CellStats | undefined;
  readonly cheapest: CellStats | undefined;
  /** Pareto-optimal cells for (mean p95, $ per 1,000 invocations), by ascending p95. */
  readonly pareto: readonly CellStats[];
  /** The balanced pick: the cheapest Pareto cell whose p95 is within 10% of the fastest. */
  readonly balanced: CellStats | undefined;
  /** Cells of the workload left out of every pick above: `reason` in words, `codes` for code to read. */
  readonly ineligible: readonly {
    readonly cell: CellStats;
    readonly reason: string;
    readonly codes: readonly IneligibleCode[];
  }[];
}

function best(
  cells: readonly CellStats[],
  value: (c: CellStats) => number,
  lowest: boolean,
): CellStats | undefined {
  let out: CellStats | undefined;
  for (const c of cells) {
    const v = value(c);
    if (!Number.isFinite(v)) continue;
    if (out === undefined || (lowest ? v < value(out) : v > value(out))) out = c;
  }
  return out;
}

/** Best cells per objective and the Pareto front of one workload. */
export function recommend(
  workload: Workload,
  all: readonly CellStats[],
  excludedReason: (c: CellStats) => Ineligibility | undefined = lossReason,
): Recommendation {
  const ineligible: { cell: CellStats; reason: string; codes: readonly IneligibleCode[] }[] = [];
  const cells: CellStats[] = [];
  for (const c of all.filter((x) => x.workload === workload)) {
    const why = excludedReason(c);
    if (why === undefined) cells.push(c);
    else ineligible.push({ cell: c, reason: why.message, codes: why.codes });
  }
  const fastest = best(cells, (c) => c.p95Mean, true);
  const pareto = paretoMinMin(cells.map((c) => ({ x: c.p95Mean, y: c.usdPer1000Invocations })))
    .map((i) => cells[i])
    .filter((c): c is CellStats => c !== undefined)
    .sort((a, b) => a.p95Mean - b.p95Mean);
  const limit = fastest === undefined ? Number.NaN : fastest.p95Mean * 1.1;
  return {
    workload,
    fastest,
    highestThroughput: best(cells, (c) => c.throughputMean, false),
    cheapest: best(cells, (c) => c.usdPer1000Invocations, true),
    pareto,
    balanced: best(
      pareto.filter((c) => c.p95Mean <= limit),
      (c) => c.usdPer1000Invocations,
      true,
    ),
    ineligible,
  };
}
