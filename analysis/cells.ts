import type { Architecture, Cell, Workload } from "../core/cell";
import type { Pricing } from "../core/pricing";
import { type CostBreakdown, costOf } from "./cost";
import { cellGroups, cellSums, col, finiteCol, type RunFrame } from "./frame";
import { mean, sampleStd } from "./stats";

/** Per-cell statistics over its measured trials, aggregated from the per-run frame (frame.ts). */
export interface CellStats {
  readonly cellId: string;
  readonly cell: Cell;
  readonly workload: Workload;
  readonly memoryMb: number;
  readonly size: number;
  readonly reservedConcurrency: number;
  readonly functionName: string;
  readonly runs: number;
  readonly invocations: number;
  readonly ok: number;
  readonly errors: number;
  readonly throttles: number;
  readonly coldStarts: number;
  readonly expected: number;
  readonly records: number;
  readonly missing: number;
  /** Mean latency of the successful invocations, ms (Σ latency ÷ Σ ok over the runs). */
  readonly meanMs: number;
  /** Runs with a p95 (at least one successful record). */
  readonly p95Runs: number;
  readonly p95Mean: number;
  readonly p95Std: number;
  /** Mean of the per-run p99. */
  readonly p99Mean: number;
  readonly throughputMean: number;
  readonly throughputStd: number;
  readonly mbPerSMean: number;
  readonly bytesSum: number;
  readonly eventsSum: number;
  readonly requests: number;
  readonly billedMs: number;
  /** Σ REPORT Billed Duration, ms. */
  readonly reportBilledMs: number;
  /** Σ REPORT Init Duration, ms: shown apart, already inside Billed Duration where billed. */
  readonly initMs: number;
  /** Records billed from the handler's latency because their invocation had no REPORT data. */
  readonly billedFromLatency: number;
  readonly s3PutRequests: number;
  readonly logBytes: number;
  readonly cost: CostBreakdown;
  readonly usdPer1000Invocations: number;
  readonly usdPerGb: number;
  readonly usdPer1MEvents: number;
}

/**
 * Aggregates the measured runs of the per-run frame into cells: counts and usage summed with
 * danfojs's groupby-agg; over each cell's group, the mean latency (Σ latency ÷ Σ ok), the mean and
 * sample std of the per-run p95 (for reference: the honest interval is the t interval on ln warm
 * p95 in units.ts), the mean per-run p99 and throughput; cost of the summed usage, normalised.
 * These are a cell's one mean, p95 and p99 wherever summary, CSVs and report show them.
 */
export function computeCellStats(
  frame: RunFrame,
  architecture: Architecture,
  pricing: Pricing,
): CellStats[] {
  const df = frame.measured;
  if (df === undefined) return [];
  const sums = cellSums(df);
  const out: CellStats[] = [];
  for (const [id, g] of cellGroups(df)) {
    const first = frame.runs[col(g, "row")[0] ?? -1];
    const s = sums.get(id);
    if (first === undefined || s === undefined) continue;
    const p95s = finiteCol(g, "p95_ms");
    const tps = finiteCol(g, "throughput_obj_per_s");
    const cost = costOf(
      {
        memoryMb: first.memoryMb,
        architecture,
        requests: s.requests,
        billedMs: s.billed_ms,
        s3PutRequests: s.s3_put_requests,
        logBytes: s.log_bytes,
      },
      pricing,
    );
    const gb = s.bytes_sum / 1024 ** 3;
    const events = s.events_sum;
    out.push({
      cellId: id,
      cell: first.cell,
      workload: first.workload,
      memoryMb: first.memoryMb,
      size: first.size,
      reservedConcurrency: first.reservedConcurrency,
      functionName: first.functionName,
      runs: col(g, "row").length,
      invocations: s.invocations,
      ok: s.ok,
      errors: s.errors,
      throttles: s.throttles,
      coldStarts: s.cold_starts,
      expected: s.expected,
      records: s.records,
      missing: s.missing,
      meanMs: s.ok > 0 ? s.latency_sum_ms / s.ok : Number.NaN,
      p95Runs: p95s.length,
      p95Mean: mean(p95s),
      p95Std: sampleStd(p95s),
      p99Mean: mean(finiteCol(g, "p99_ms")),
      throughputMean: mean(tps),
      throughputStd: sampleStd(tps),
      mbPerSMean: mean(finiteCol(g, "mb_per_s")),
      bytesSum: s.bytes_sum,
      eventsSum: events,
      requests: s.requests,
      billedMs: s.billed_ms,
      reportBilledMs: s.report_billed_ms,
      initMs: s.init_ms,
      billedFromLatency: s.billed_from_latency,
      s3PutRequests: s.s3_put_requests,
      logBytes: s.log_bytes,
      cost,
      usdPer1000Invocations: s.requests > 0 ? (cost.total / s.requests) * 1000 : Number.NaN,
      usdPerGb: gb > 0 ? cost.total / gb : Number.NaN,
      usdPer1MEvents: events > 0 ? (cost.total / events) * 1e6 : Number.NaN,
    });
  }
  return out;
}
