import { workloadSpec } from "../core/workloads";
import type { CellStats } from "./cells";
import type { CsvValue } from "./csv";
import type { Analysis } from "./model";
import { cellVerdict } from "./pick";
import type { RunStats } from "./runs";

/** Columns appended to results.csv: the run's warm statistics (warm-up runs: warmup = true). */
export const WARM_RUN_COLUMNS = [
  "warmup",
  "warm_ok",
  "warm_p50_ms",
  "warm_p95_ms",
  "warm_p99_ms",
] as const;

/** The {@link WARM_RUN_COLUMNS} of one run. */
export function warmRunRow(a: Analysis, r: RunStats): CsvValue[] {
  const w = a.warm.get(r.runId);
  return [w?.warmup ?? false, w?.warmOk ?? 0, w?.warmP50Ms, w?.warmP95Ms, w?.warmP99Ms];
}

/** Columns appended to p95.csv: the honest interval and the cold-start outcome. */
export const WARM_CELL_COLUMNS = [
  "warm_runs",
  "warm_p95_geomean_ms",
  "warm_p95_t95_low_ms",
  "warm_p95_t95_high_ms",
  "warm_p95_precision",
  "warm_p50_mean_ms",
  "warm_p99_mean_ms",
  "cold_starts",
  "warmup_cold_starts",
  "measured_cold_rate",
  "init_p50_ms",
  "init_p95_ms",
  "cold_client_p50_ms",
  "cold_client_p95_ms",
] as const;

/** The {@link WARM_CELL_COLUMNS} of one cell. */
export function warmCellRow(a: Analysis, c: CellStats): CsvValue[] {
  const u = a.units.get(c.cellId);
  if (u === undefined) return WARM_CELL_COLUMNS.map(() => undefined);
  const k = u.cold;
  return [
    u.warmRuns,
    u.warmP95.estimate,
    u.warmP95.low,
    u.warmP95.high,
    u.warmP95.precision,
    u.warmP50MeanMs,
    u.warmP99MeanMs,
    k.coldStarts,
    k.warmupColdStarts,
    k.measuredColdRate,
    k.initMedianMs,
    k.initP95Ms,
    k.coldClientMedianMs,
    k.coldClientP95Ms,
  ];
}

/** Columns of units.csv: per cell, per unit of work, and the best-set verdict. */
export const UNITS_COLUMNS = [
  "workload",
  "cell_id",
  "unit_latency_ms",
  "unit_latency_t95_low_ms",
  "unit_latency_t95_high_ms",
  "unit_latency_precision",
  "batch_wait_ms",
  "event_rate_per_s",
  "cost_usd_per_unit",
  "cost_unit",
  "throughput_per_unit",
  "throughput_unit",
  "mb_per_s_per_invocation",
  "ratio_to_best",
  "ratio_to_best_low",
  "ratio_to_best_high",
  "status",
] as const;

/** One units.csv row per cell: eligible cells with their verdict, the others "not eligible". */
export function unitsRows(a: Analysis): CsvValue[][] {
  return a.cells.map((c) => {
    const u = a.units.get(c.cellId);
    const p = a.picks.find((x) => x.workload === c.workload);
    const cmp = p?.comparison.cells.find((x) => x.cellId === c.cellId);
    const status = {
      pick: "pick",
      slower: "significantly slower",
      "best-set": "best set",
      "not-eligible": "not eligible",
    }[cellVerdict(p, c.cellId)];
    return [
      c.workload,
      c.cellId,
      u?.unitLatency.estimate,
      u?.unitLatency.low,
      u?.unitLatency.high,
      u?.unitLatency.precision,
      u?.batchWaitMs,
      workloadSpec(c.workload).unit.batchesArrivals ? a.eventRatePerS : undefined,
      u?.costPerUnit,
      u?.costUnit,
      u?.throughputPerUnit,
      u?.throughputUnit,
      u?.mbPerSPerInvocation,
      cmp?.ratioToBest,
      cmp?.ratioLow,
      cmp?.ratioHigh,
      status,
    ];
  });
}
