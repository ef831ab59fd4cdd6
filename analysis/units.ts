import { workloadSpec } from "../core/workloads";
import type { CellStats } from "./cells";
import { cellGroups, col, finiteCol, type Group, type RunFrame } from "./frame";
import { type GeoMeanInterval, geoMeanTInterval } from "./intervals";
import { mean } from "./stats";
import { type ColdStats, coldStats } from "./warm";

/** Per-unit-of-work figures of one cell: events per event, batch per byte. */
export interface CellUnits {
  readonly cell: CellStats;
  /** Measured runs (trial ≥ 1, not warm-up) with a warm p95. */
  readonly warmRuns: number;
  /** Geometric mean of per-run warm p95 with its t interval (invocation latency). */
  readonly warmP95: GeoMeanInterval;
  /** Means of per-run warm p50 / p99. */
  readonly warmP50MeanMs: number;
  readonly warmP99MeanMs: number;
  /** Events: (B − 1) / R in ms, the wait to fill a batch at the stated rate; batch: 0. */
  readonly batchWaitMs: number;
  /** Per-unit latency: events, warm p95 + batch wait per run; batch, warm p95 (one object). */
  readonly unitLatency: GeoMeanInterval;
  /** Per-run ln(per-unit latency), by trial: the replicates of the comparison. */
  readonly replicates: readonly { readonly trial: number; readonly y: number }[];
  /** $ per 1M events (events) or $ per GB (batch), from the cost code. */
  readonly costPerUnit: number;
  readonly costUnit: "1M events" | "GB";
  /** Events/s (events) or aggregate MB/s (batch), mean over measured runs. */
  readonly throughputPerUnit: number;
  readonly throughputUnit: "events/s" | "MB/s";
  /** Batch: MB/s of one invocation = object MB ÷ warm median latency; events: NaN. */
  readonly mbPerSPerInvocation: number;
  readonly cold: ColdStats;
}

/**
 * Per-unit figures of every cell, over its group of the per-run frame (frame.ts): warm figures
 * over its measured runs with warm invocations, the cold-start outcome over all its runs.
 */
export function computeUnits(
  cells: readonly CellStats[],
  frame: RunFrame,
  eventRatePerS: number,
  objectMb: number,
): Map<string, CellUnits> {
  const out = new Map<string, CellUnits>();
  if (frame.runs.length === 0) return out;
  const allOf = cellGroups(frame.df);
  const df = frame.measured;
  const measuredOf = df === undefined ? new Map<string, Group>() : cellGroups(df);
  for (const c of cells) {
    const all = allOf.get(c.cellId) ?? {};
    const measured = measuredOf.get(c.cellId) ?? {};
    const warmOk = col(measured, "warm_ok");
    const withWarm = <T>(values: readonly T[]): T[] =>
      values.filter((_, i) => (warmOk[i] ?? 0) > 0);
    const unit = workloadSpec(c.workload).unit;
    const waitMs = unit.batchesArrivals ? ((c.size - 1) / eventRatePerS) * 1000 : 0;
    const trials = withWarm(col(measured, "trial"));
    const warmP95 = withWarm(col(measured, "warm_p95_ms"));
    const replicates = warmP95.map((p95, i) => ({
      trial: trials[i] ?? Number.NaN,
      y: Math.log(p95 + waitMs),
    }));
    const eventsPerS = finiteCol(measured, "events_per_s");
    const mbPerS = finiteCol(measured, "mb_per_s");
    const medians = withWarm(col(measured, "warm_median_ms")).filter((x) => x > 0);
    const coldRuns = col(all, "row")
      .map((row) => frame.warm.get(frame.runs[row]?.runId ?? ""))
      .filter((w) => w !== undefined);
    // Cost and throughput in the workload's unit of work.
    const perQuantity = {
      events: { cost: c.usdPer1MEvents, throughput: mean(eventsPerS) },
      bytes: { cost: c.usdPerGb, throughput: mean(mbPerS) },
    }[unit.quantity];
    out.set(c.cellId, {
      cell: c,
      warmRuns: warmP95.length,
      warmP95: geoMeanTInterval(warmP95),
      warmP50MeanMs: mean(withWarm(col(measured, "warm_p50_ms"))),
      warmP99MeanMs: mean(withWarm(col(measured, "warm_p99_ms"))),
      batchWaitMs: waitMs,
      unitLatency: geoMeanTInterval(warmP95.map((p95) => p95 + waitMs)),
      replicates,
      costPerUnit: perQuantity.cost,
      costUnit: unit.cost,
      throughputPerUnit: perQuantity.throughput,
      throughputUnit: unit.throughput,
      mbPerSPerInvocation:
        unit.quantity === "bytes" && medians.length > 0
          ? objectMb / (mean(medians) / 1000)
          : Number.NaN,
      cold: coldStats(coldRuns),
    });
  }
  return out;
}
