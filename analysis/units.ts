import { workloadSpec } from "../core/workloads";
import type { CellStats } from "./cells";
import { type GeoMeanInterval, geoMeanTInterval } from "./intervals";
import type { RunStats } from "./runs";
import { mean } from "./stats";
import { type ColdStats, coldStats, type WarmRunStats } from "./warm";

/**
 * Stated arrival rate of events (events/s) at which the per-event latency of the events
 * workload is computed: the first event of a batch of B waits (B − 1) / R for the rest.
 */
export const DEFAULT_EVENT_RATE_PER_S = 1000;

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

/** True for a measured trial (not a warm-up run). */
export function isMeasured(r: RunStats, warm: ReadonlyMap<string, WarmRunStats>): boolean {
  return r.trial !== 0 && warm.get(r.runId)?.warmup !== true;
}

/** Per-unit figures of every cell, from its runs' warm statistics and the cell's cost. */
export function computeUnits(
  cells: readonly CellStats[],
  runs: readonly RunStats[],
  warm: ReadonlyMap<string, WarmRunStats>,
  eventRatePerS: number,
  objectMb: number,
): Map<string, CellUnits> {
  const out = new Map<string, CellUnits>();
  for (const c of cells) {
    const all = runs.filter((r) => r.cellId === c.cellId);
    const measured = all.filter((r) => isMeasured(r, warm));
    const ws = measured
      .map((r) => ({ r, w: warm.get(r.runId) }))
      .filter((x): x is { r: RunStats; w: WarmRunStats } => x.w !== undefined && x.w.warmOk > 0);
    const unit = workloadSpec(c.workload).unit;
    const waitMs = unit.batchesArrivals ? ((c.size - 1) / eventRatePerS) * 1000 : 0;
    const replicates = ws.map(({ r, w }) => ({
      trial: r.trial,
      y: Math.log(w.warmP95Ms + waitMs),
    }));
    const eventsPerS = measured
      .map((r) => (r.windowMs > 0 ? r.eventsSum / (r.windowMs / 1000) : Number.NaN))
      .filter(Number.isFinite);
    const mbPerS = measured.map((r) => r.mbPerS).filter(Number.isFinite);
    const medians = ws.map(({ w }) => w.warmMedianMs).filter((x) => x > 0);
    // Cost and throughput in the workload's unit of work.
    const perQuantity = {
      events: { cost: c.usdPer1MEvents, throughput: mean(eventsPerS) },
      bytes: { cost: c.usdPerGb, throughput: mean(mbPerS) },
    }[unit.quantity];
    out.set(c.cellId, {
      cell: c,
      warmRuns: ws.length,
      warmP95: geoMeanTInterval(ws.map(({ w }) => w.warmP95Ms)),
      warmP50MeanMs: mean(ws.map(({ w }) => w.warmP50Ms)),
      warmP99MeanMs: mean(ws.map(({ w }) => w.warmP99Ms)),
      batchWaitMs: waitMs,
      unitLatency: geoMeanTInterval(ws.map(({ w }) => w.warmP95Ms + waitMs)),
      replicates,
      costPerUnit: perQuantity.cost,
      costUnit: unit.cost,
      throughputPerUnit: perQuantity.throughput,
      throughputUnit: unit.throughput,
      mbPerSPerInvocation:
        unit.quantity === "bytes" && medians.length > 0
          ? objectMb / (mean(medians) / 1000)
          : Number.NaN,
      cold: coldStats(all.map((r) => warm.get(r.runId)).filter((w) => w !== undefined)),
    });
  }
  return out;
}
