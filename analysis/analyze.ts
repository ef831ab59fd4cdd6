import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDirectory } from "../core/dirs";
import { DEFAULT_PRICING, type Pricing } from "../core/pricing";
import type { Manifest } from "../core/run-files";
import {
  type CellStats,
  computeCellStats,
  lossReason,
  type Recommendation,
  recommend,
} from "./cells";
import { toCsv } from "./csv";
import {
  analyseEffects,
  EFFECTS_COLUMNS,
  type EffectAnalysis,
  effectsRows,
  type MainEffect,
  mainEffects,
} from "./effects";
import { type LoadModel, loadModelOf } from "./load-model";
import {
  type CellOutcome,
  type ExcludedRun,
  type LoadedRun,
  loadRun,
  type SkippedLines,
} from "./load-run";
import { DEFAULT_BALANCED_WEIGHT, pickWorkload, type Strategy, type WorkloadPick } from "./pick";
import { type EffectRatios, effectRatios } from "./ratios";
import { recommendationJson } from "./recommendation";
import { renderReport } from "./report-html";
import { computeRunStats, groupRecords, okLatencies, type RunStats } from "./runs";
import { factorSignificance } from "./significance";
import { mean, percentileSorted } from "./stats";
import { renderSummary } from "./summary";
import {
  COST_COLUMNS,
  costRows,
  P95_COLUMNS,
  p95Rows,
  pivotTable,
  RESULTS_COLUMNS,
  resultsRows,
} from "./tables";
import { loadTreatment } from "./treatments";
import {
  UNITS_COLUMNS,
  unitsRows,
  WARM_CELL_COLUMNS,
  WARM_RUN_COLUMNS,
  warmCellRow,
  warmRunRow,
} from "./unit-tables";
import { type CellUnits, computeUnits, DEFAULT_EVENT_RATE_PER_S, isMeasured } from "./units";
import { computeWarmStats, type WarmRunStats } from "./warm";

/** Latency statistics of successful invocations pooled over runs. */
export interface PooledLatency {
  readonly ok: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** Everything computed from one run directory. */
export interface Analysis {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly pricing: Pricing;
  readonly skipped: SkippedLines;
  readonly hasInvocations: boolean;
  readonly runs: readonly RunStats[];
  /** Runs whose cell could not be determined (left out of every table). */
  readonly unassigned: readonly string[];
  readonly cells: readonly CellStats[];
  readonly overall: PooledLatency;
  readonly byCell: ReadonlyMap<string, PooledLatency>;
  readonly effects: readonly EffectAnalysis[];
  readonly mainEffects: readonly MainEffect[];
  readonly recommendations: readonly Recommendation[];
  /** Runs left out of every statistic (discarded by --resume, or never harvested). */
  readonly excluded: readonly ExcludedRun[];
  /** Journal outcome per cell id. */
  readonly outcomes: ReadonlyMap<string, CellOutcome>;
  /** Warm and cold statistics per run id (warm-up runs included). */
  readonly warm: ReadonlyMap<string, WarmRunStats>;
  /** Per-unit-of-work figures per cell id. */
  readonly units: ReadonlyMap<string, CellUnits>;
  /** The answer per workload: best set and the strategy's pick. */
  readonly picks: readonly WorkloadPick[];
  readonly strategy: Strategy;
  readonly balancedWeight: number;
  readonly eventRatePerS: number;
  readonly load: LoadModel;
  /** Main effects on ln warm p95 as ratios to the grand geometric mean, with CIs. */
  readonly effectRatios: readonly EffectRatios[];
}

/** Why a cell is not recommended: its journal outcome first, then its losses. */
export function ineligibility(
  c: CellStats,
  outcomes: ReadonlyMap<string, CellOutcome>,
): string | undefined {
  const o = outcomes.get(c.cellId);
  const journal =
    o === undefined || o.status === "done"
      ? undefined
      : o.status === "failed"
        ? `cell failed (${o.error ?? "no error recorded"})`
        : "cell unfinished";
  const loss = lossReason(c);
  if (journal === undefined) return loss;
  return loss === undefined ? journal : `${journal}; ${loss}`;
}

/** Options of {@link analyseRun}. */
export interface AnalyseOptions {
  readonly pricing?: Pricing;
  /** Pick strategy within the best set (default cost). */
  readonly strategy?: Strategy;
  /** Cost weight of the balanced strategy, 0–1 (default 0.5). */
  readonly balancedWeight?: number;
  /** Stated event arrival rate for the per-event latency, events/s (default 1000). */
  readonly eventRatePerS?: number;
}

function pooled(lat: Float64Array): PooledLatency {
  return {
    ok: lat.length,
    meanMs: mean(lat),
    p50Ms: percentileSorted(lat, 50),
    p95Ms: percentileSorted(lat, 95),
    p99Ms: percentileSorted(lat, 99),
  };
}

/** Computes every statistic of a loaded run directory. */
export function analyseLoaded(loaded: LoadedRun, options: AnalyseOptions = {}): Analysis {
  const pricing = options.pricing ?? DEFAULT_PRICING;
  const strategy = options.strategy ?? "cost";
  const balancedWeight = options.balancedWeight ?? DEFAULT_BALANCED_WEIGHT;
  const eventRatePerS = options.eventRatePerS ?? DEFAULT_EVENT_RATE_PER_S;
  const { runs, unassigned } = computeRunStats(loaded, pricing);
  const warm = computeWarmStats(loaded);
  // Warm-up runs feed the cold-start outcome only: cells, effects and picks use measured trials.
  const measured = runs.filter((r) => isMeasured(r, warm));
  const cells = computeCellStats(measured, loaded.manifest.architecture, pricing);
  const units = computeUnits(cells, runs, warm, eventRatePerS, loaded.manifest.object_mb);
  const warmP95 = (r: RunStats): number => warm.get(r.runId)?.warmP95Ms ?? Number.NaN;
  // Pool latencies per cell: map each loaded run to its cell's index.
  const cellIndex = new Map(cells.map((c, i) => [c.cellId, i]));
  const runCell = new Map(runs.map((r) => [r.runId, cellIndex.get(r.cellId) ?? -1]));
  const groupOf = Int32Array.from(loaded.runs, (r) => runCell.get(r.runId) ?? -1);
  const { offsets, order } = groupRecords(loaded.records, groupOf, cells.length);
  const byCell = new Map<string, PooledLatency>();
  cells.forEach((c, g) => {
    byCell.set(
      c.cellId,
      pooled(okLatencies(loaded.records, order, offsets[g] ?? 0, offsets[g + 1] ?? 0)),
    );
  });
  const all = okLatencies(loaded.records, order, 0, order.length);
  const workloads = (["events", "batch"] as const).filter((w) =>
    cells.some((c) => c.workload === w),
  );
  const load = loadModelOf(loaded.manifest);
  const recommendations = workloads.map((w) =>
    recommend(w, cells, (c) => ineligibility(c, loaded.outcomes)),
  );
  const picks = recommendations.map((rec) => {
    const out = new Set(rec.ineligible.map((x) => x.cell.cellId));
    const eligible = cells
      .filter((c) => c.workload === rec.workload && !out.has(c.cellId))
      .map((c) => units.get(c.cellId))
      .filter((u): u is CellUnits => u !== undefined);
    return pickWorkload(rec.workload, eligible, factorSignificance(rec.workload, measured, units), {
      strategy,
      balancedWeight,
      eventRatePerS,
      nonBindingRc: loadTreatment(
        cells,
        byCell,
        load,
        rec.workload,
        loaded.manifest.invocations[rec.workload],
      ).same,
    });
  });
  const effects = analyseEffects(measured, warmP95);
  const main = mainEffects(measured, warmP95);
  return {
    dir: loaded.dir,
    manifest: loaded.manifest,
    pricing,
    skipped: loaded.skipped,
    hasInvocations: loaded.hasInvocations,
    runs,
    unassigned,
    cells,
    overall: pooled(all),
    byCell,
    effects,
    mainEffects: main,
    effectRatios: effectRatios(effects, main),
    recommendations,
    excluded: loaded.excluded,
    outcomes: loaded.outcomes,
    warm,
    units,
    picks,
    strategy,
    balancedWeight,
    eventRatePerS,
    load,
  };
}

/** Loads and analyses a run directory. */
export function analyseRun(dir: string, options: AnalyseOptions = {}): Analysis {
  return analyseLoaded(loadRun(dir), options);
}

/** Where each output goes. */
export interface OutputPaths {
  readonly results: string;
  readonly summary: string;
  readonly pivot: string;
  readonly p95: string;
  readonly cost: string;
  readonly effects: string;
  readonly report: string;
  readonly recommendation: string;
  readonly units: string;
}

/** Output file names in the output directory. */
export const OUTPUT_FILES = {
  results: "results.csv",
  summary: "summary.txt",
  pivot: "pivot.csv",
  p95: "p95.csv",
  cost: "cost.csv",
  effects: "effects.csv",
  report: "report.html",
  recommendation: "recommendation.json",
  units: "units.csv",
} as const;

/** Default output paths in `outDir`, with any overrides applied. */
export function outputPaths(outDir: string, overrides: Partial<OutputPaths> = {}): OutputPaths {
  return {
    results: overrides.results ?? join(outDir, OUTPUT_FILES.results),
    summary: overrides.summary ?? join(outDir, OUTPUT_FILES.summary),
    pivot: overrides.pivot ?? join(outDir, OUTPUT_FILES.pivot),
    p95: overrides.p95 ?? join(outDir, OUTPUT_FILES.p95),
    cost: overrides.cost ?? join(outDir, OUTPUT_FILES.cost),
    effects: overrides.effects ?? join(outDir, OUTPUT_FILES.effects),
    report: overrides.report ?? join(outDir, OUTPUT_FILES.report),
    recommendation: overrides.recommendation ?? join(outDir, OUTPUT_FILES.recommendation),
    units: overrides.units ?? join(outDir, OUTPUT_FILES.units),
  };
}

/** Writes every output of an analysis. */
export function writeOutputs(a: Analysis, paths: OutputPaths, outDir: string): void {
  makeDirectory("--out-dir", outDir);
  const results = resultsRows(a.runs).map((row, i) => {
    const r = a.runs[i];
    return r === undefined ? row : [...row, ...warmRunRow(a, r)];
  });
  writeFileSync(paths.results, toCsv([...RESULTS_COLUMNS, ...WARM_RUN_COLUMNS], results));
  const pivot = pivotTable(a.runs.filter((r) => isMeasured(r, a.warm)));
  writeFileSync(paths.pivot, toCsv(pivot.columns, pivot.rows));
  const notRecommended = new Map(
    a.recommendations.flatMap((r) => r.ineligible.map((x) => [x.cell.cellId, x.reason] as const)),
  );
  writeFileSync(
    paths.p95,
    toCsv(
      [...P95_COLUMNS, ...WARM_CELL_COLUMNS],
      p95Rows(a.cells, (c) => ({
        status: a.outcomes.get(c.cellId)?.status ?? "",
        notRecommended: notRecommended.get(c.cellId) ?? "",
      })).map((row, i) => {
        const c = a.cells[i];
        return c === undefined ? row : [...row, ...warmCellRow(a, c)];
      }),
    ),
  );
  writeFileSync(paths.units, toCsv(UNITS_COLUMNS, unitsRows(a)));
  writeFileSync(paths.cost, toCsv(COST_COLUMNS, costRows(a.cells, a.manifest.architecture)));
  writeFileSync(paths.effects, toCsv(EFFECTS_COLUMNS, effectsRows(a.effects)));
  writeFileSync(paths.summary, renderSummary(a));
  writeFileSync(paths.report, renderReport(a));
  writeFileSync(paths.recommendation, `${JSON.stringify(recommendationJson(a), null, 2)}\n`);
}
