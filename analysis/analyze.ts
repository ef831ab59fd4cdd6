import { DEFAULT_PRICING, type Pricing } from "../core/pricing";
import { WORKLOADS } from "../core/workloads";
import { recommend } from "./best-cells";
import { computeCellStats } from "./cells";
import { analyseEffects, mainEffects } from "./effects";
import { ineligibility } from "./eligibility";
import { isMeasured, runFrame } from "./frame";
import { loadModelOf } from "./load-model";
import { loadRun } from "./load-run";
import type { LoadedRun } from "./loaded-run";
import { localFidelityNotes } from "./local-fidelity";
import type { Analysis, PooledLatency } from "./model";
import {
  DEFAULT_BALANCED_WEIGHT,
  DEFAULT_EVENT_RATE_PER_S,
  pickWorkload,
  type Strategy,
} from "./pick";
import { effectRatios } from "./ratios";
import { computeRunStats, groupRecords, okLatencies, type RunStats } from "./runs";
import { factorSignificance } from "./significance";
import { mean, percentileSorted } from "./stats";
import { loadTreatment } from "./treatments";
import { type CellUnits, computeUnits } from "./units";
import { computeWarmStats } from "./warm";

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
  // The per-run frame is the one source of per-cell aggregates (frame.ts). Warm-up runs feed the
  // cold-start outcome only: cells, effects and picks use measured trials.
  const frame = runFrame(runs, warm);
  const measured = runs.filter((r) => isMeasured(r, warm));
  const cells = computeCellStats(frame, loaded.manifest.architecture, pricing);
  const units = computeUnits(cells, frame, eventRatePerS, loaded.manifest.object_mb);
  const warmP95 = (r: RunStats): number => warm.get(r.runId)?.warmP95Ms ?? Number.NaN;
  // Pool the latencies of every run of an analysed cell (warm-up included) for the overall figures.
  const inCells = new Set(cells.map((c) => c.cellId));
  const runInCells = new Set(runs.filter((r) => inCells.has(r.cellId)).map((r) => r.runId));
  const groupOf = Int32Array.from(loaded.runs, (r) => (runInCells.has(r.runId) ? 0 : -1));
  const { order } = groupRecords(loaded.records, groupOf, 1);
  const all = okLatencies(loaded.records, order, 0, order.length);
  const workloads = WORKLOADS.filter((w) => cells.some((c) => c.workload === w));
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
    frame,
    unassigned,
    cells,
    overall: pooled(all),
    effects,
    mainEffects: main,
    effectRatios: effectRatios(effects, main),
    localNotes: localFidelityNotes(loaded.runs, loaded.manifest),
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
