import type { Architecture } from "../core/cell";
import type { CellStats } from "./cells";
import type { CsvValue } from "./csv";
import { finiteCol, type Group, type RunFrame } from "./frame";
import type { RunStats } from "./runs";

/** Columns of results.csv: the seed's eight first (docs/architecture.md "The run directory"), then ours. */
export const RESULTS_COLUMNS = [
  "workload",
  "memory_mb",
  "batch_or_multipart",
  "reserved_concurrency",
  "run_id",
  "p95_ms",
  "throughput_obj_per_s",
  "bytes_sum",
  "invocations",
  "ok",
  "errors",
  "throttles",
  "cold_starts",
  "p50_ms",
  "p99_ms",
  "mean_ms",
  "mb_per_s",
  "cost_usd",
  "cell_id",
  "trial",
  "function_name",
  "records_expected",
  "records_found",
  "records_missing",
  "window_ms",
  "events_sum",
  "s3_put_requests",
  "billed_ms",
  "log_bytes_est",
  "init_ms",
  "billed_from_latency",
] as const;

/** One results.csv row per run, in {@link RESULTS_COLUMNS} order. */
export function resultsRows(runs: readonly RunStats[]): CsvValue[][] {
  return runs.map((r) => [
    r.workload,
    r.memoryMb,
    r.size,
    r.reservedConcurrency,
    r.runId,
    r.p95Ms,
    r.throughputObjPerS,
    r.bytesSum,
    r.invocations,
    r.ok,
    r.errors,
    r.throttles,
    r.coldStarts,
    r.p50Ms,
    r.p99Ms,
    r.meanMs,
    r.mbPerS,
    r.cost.total,
    r.cellId,
    r.trial,
    r.functionName,
    r.expected,
    r.records,
    r.missing,
    r.windowMs,
    r.eventsSum,
    r.s3PutRequests,
    r.billedMs,
    r.logBytes,
    r.initMs,
    r.billedFromLatency,
  ]);
}

/** Columns of p95.csv. */
export const P95_COLUMNS = [
  "workload",
  "memory_mb",
  "batch_or_multipart",
  "reserved_concurrency",
  "cell_id",
  "trials",
  "p95_mean_ms",
  "p95_std_ms",
  "throughput_mean_obj_per_s",
  "throughput_std_obj_per_s",
  "cell_status",
  "not_recommended_because",
] as const;

/** One p95.csv row per cell. */
export function p95Rows(
  cells: readonly CellStats[],
  flags: (c: CellStats) => { status: string; notRecommended: string } = () => ({
    status: "",
    notRecommended: "",
  }),
): CsvValue[][] {
  return cells.map((c) => [
    c.workload,
    c.memoryMb,
    c.size,
    c.reservedConcurrency,
    c.cellId,
    c.p95Runs,
    c.p95Mean,
    c.p95Std,
    c.throughputMean,
    c.throughputStd,
    flags(c).status,
    flags(c).notRecommended,
  ]);
}

/** Columns of cost.csv. */
export const COST_COLUMNS = [
  "workload",
  "memory_mb",
  "batch_or_multipart",
  "reserved_concurrency",
  "cell_id",
  "architecture",
  "runs",
  "invocations",
  "billed_requests",
  "billed_ms",
  "init_ms",
  "billed_from_latency",
  "gb_seconds",
  "lambda_compute_usd",
  "lambda_request_usd",
  "s3_put_requests",
  "s3_put_usd",
  "log_bytes_est",
  "logs_ingest_usd",
  "total_usd",
  "usd_per_1000_invocations",
  "usd_per_gb_ingested",
  "usd_per_1m_events",
] as const;

/** One cost.csv row per cell. */
export function costRows(cells: readonly CellStats[], architecture: Architecture): CsvValue[][] {
  return cells.map((c) => [
    c.workload,
    c.memoryMb,
    c.size,
    c.reservedConcurrency,
    c.cellId,
    architecture,
    c.runs,
    c.invocations,
    c.requests,
    c.billedMs,
    c.initMs,
    c.billedFromLatency,
    c.cost.gbSeconds,
    c.cost.lambdaCompute,
    c.cost.lambdaRequests,
    c.s3PutRequests,
    c.cost.s3Put,
    c.logBytes,
    c.cost.logsIngest,
    c.cost.total,
    c.usdPer1000Invocations,
    c.usdPerGb,
    c.usdPer1MEvents,
  ]);
}

/**
 * pivot.csv as the seed's: mean p95 (over measured runs) indexed by (workload, memory_mb), one
 * column per batch_or_multipart level (the union of both workloads' levels; empty where not run).
 * danfojs has no pivot: this is a small function over the per-run frame's groups by (workload,
 * memory_mb, size).
 */
export function pivotTable(frame: RunFrame): { columns: string[]; rows: CsvValue[][] } {
  const df = frame.measured;
  if (df === undefined) return { columns: ["workload", "memory_mb"], rows: [] };
  const groups = Object.values(
    df.groupby(["workload", "memory_mb", "size"]).groups as Record<string, Group>,
  );
  const key = (w: unknown, m: unknown, s: unknown): string => `${w}|${m}|${s}`;
  const meanP95 = new Map<string, number>();
  for (const g of groups) {
    const v = finiteCol(g, "p95_ms");
    const k = key(g.workload?.[0], g.memory_mb?.[0], g.size?.[0]);
    meanP95.set(k, v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
  }
  const workloads = df.column("workload").values as string[];
  const mems = df.column("memory_mb").values as number[];
  const sizes = [...new Set(df.column("size").values as number[])].sort((a, b) => a - b);
  const keys = [...new Set(workloads.map((w, i) => `${w}|${mems[i]}`))];
  const rows = keys.map((k) => {
    const [workload = "", mem = ""] = k.split("|");
    return [
      workload,
      Number(mem),
      ...sizes.map((s) => {
        const v = meanP95.get(key(workload, mem, s));
        return v === undefined || Number.isNaN(v) ? undefined : v;
      }),
    ];
  });
  return { columns: ["workload", "memory_mb", ...sizes.map(String)], rows };
}
