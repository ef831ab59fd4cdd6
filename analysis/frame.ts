/**
 * The per-run table as one danfojs DataFrame: one row per run (results.csv's rows, warm-up runs
 * included and flagged), and the one source every per-cell aggregate is computed from (cells.ts,
 * units.ts, the pivot in tables.ts, the service time of the offered-load model). Per-run
 * percentiles come from each run's records (runs.ts, warm.ts: typed arrays, the 1M-record hot
 * loop); a cell is never re-derived from records again.
 *
 * danfojs 1.2.0 has no quantile and no pivot, and its groupby mean/std count NaN (a run without
 * a successful record has a NaN p95) with no skip-NaN option (aggregators/groupby.js): those are
 * small functions here and in the callers, over the groups danfojs's `groupby(...).groups`
 * returns (per group key, each column's values in frame order). Sums use `groupby(...).agg`.
 */
import * as dfd from "danfojs";
import type { RunStats } from "./runs";
import type { WarmRunStats } from "./warm";

/** True for a measured trial (not a warm-up run). */
export function isMeasured(r: RunStats, warm: ReadonlyMap<string, WarmRunStats>): boolean {
  return r.trial !== 0 && warm.get(r.runId)?.warmup !== true;
}

/** The per-run DataFrame with the runs and warm statistics its rows were built from. */
export interface RunFrame {
  /** One row per run in `runs` order; column `row` is the run's index in `runs`. */
  readonly df: dfd.DataFrame;
  /** `df` restricted to measured runs, made once ({@link measuredRows}). */
  readonly measured: dfd.DataFrame | undefined;
  readonly runs: readonly RunStats[];
  readonly warm: ReadonlyMap<string, WarmRunStats>;
}

/** Columns of the frame that are summed per cell (danfojs `agg` "sum"). */
export const SUM_COLUMNS = [
  "invocations",
  "ok",
  "errors",
  "throttles",
  "cold_starts",
  "expected",
  "records",
  "missing",
  "bytes_sum",
  "events_sum",
  "requests",
  "billed_ms",
  "report_billed_ms",
  "init_ms",
  "billed_from_latency",
  "s3_put_requests",
  "log_bytes",
  "latency_sum_ms",
] as const;

/** Name of a summed column. */
export type SumColumn = (typeof SUM_COLUMNS)[number];

/** Builds the per-run frame (numeric columns; `cell_id`, `run_id`, `workload` as strings). */
export function runFrame(
  runs: readonly RunStats[],
  warm: ReadonlyMap<string, WarmRunStats>,
): RunFrame {
  const rows = runs.map((r, row) => {
    const w = warm.get(r.runId);
    return {
      row,
      run_id: r.runId,
      cell_id: r.cellId,
      workload: r.workload,
      memory_mb: r.memoryMb,
      size: r.size,
      reserved_concurrency: r.reservedConcurrency,
      trial: r.trial,
      measured: isMeasured(r, warm) ? 1 : 0,
      invocations: r.invocations,
      ok: r.ok,
      errors: r.errors,
      throttles: r.throttles,
      cold_starts: r.coldStarts,
      expected: r.expected,
      records: r.records,
      missing: r.missing,
      bytes_sum: r.bytesSum,
      events_sum: r.eventsSum,
      requests: Math.max(r.expected, r.records),
      billed_ms: r.billedMs,
      report_billed_ms: r.reportBilledMs,
      init_ms: r.initMs,
      billed_from_latency: r.billedFromLatency,
      s3_put_requests: r.s3PutRequests,
      log_bytes: r.logBytes,
      latency_sum_ms: r.latencySumMs,
      p95_ms: r.p95Ms,
      p99_ms: r.p99Ms,
      throughput_obj_per_s: r.throughputObjPerS,
      mb_per_s: r.mbPerS,
      events_per_s: r.windowMs > 0 ? r.eventsSum / (r.windowMs / 1000) : Number.NaN,
      warm_ok: w?.warmOk ?? 0,
      warm_p50_ms: w?.warmP50Ms ?? Number.NaN,
      warm_p95_ms: w?.warmP95Ms ?? Number.NaN,
      warm_p99_ms: w?.warmP99Ms ?? Number.NaN,
      warm_median_ms: w?.warmMedianMs ?? Number.NaN,
    };
  });
  const df = new dfd.DataFrame(rows);
  return { df, measured: measuredRows({ df, runs }), runs, warm };
}

/** One group of the frame: each column's values for the group's rows, in frame order. */
export type Group = Readonly<Record<string, readonly unknown[]>>;

/** The numbers of one column of a group. */
export function col(g: Group, column: string): number[] {
  return (g[column] ?? []).map(Number);
}

/** The finite numbers of one column of a group (danfojs's mean would count NaN). */
export function finiteCol(g: Group, column: string): number[] {
  return col(g, column).filter((v) => Number.isFinite(v));
}

/** The frame restricted to measured runs (undefined when there are none: danfojs has no empty frame). */
export function measuredRows(f: Pick<RunFrame, "df" | "runs">): dfd.DataFrame | undefined {
  if (f.runs.length === 0) return undefined;
  const mask = f.df.column("measured").eq(1);
  return mask.values.some((v) => v === true) ? f.df.query(mask) : undefined;
}

/** Groups of a frame by cell id, in the order the cells first appear (runs are sorted). */
export function cellGroups(df: dfd.DataFrame): Map<string, Group> {
  const groups = df.groupby(["cell_id"]).groups as Record<string, Group>;
  const out = new Map<string, Group>();
  for (const id of df.column("cell_id").values as string[]) {
    const g = groups[id];
    if (g !== undefined && !out.has(id)) out.set(id, g);
  }
  return out;
}

/** Per-cell sums of {@link SUM_COLUMNS} with danfojs's groupby-agg. */
export function cellSums(df: dfd.DataFrame): Map<string, Record<SumColumn, number>> {
  const grouped = df
    .groupby(["cell_id"])
    .agg(Object.fromEntries(SUM_COLUMNS.map((c) => [c, "sum"])));
  const out = new Map<string, Record<SumColumn, number>>();
  for (const row of dfd.toJSON(grouped) as Record<string, unknown>[]) {
    out.set(
      String(row.cell_id),
      Object.fromEntries(SUM_COLUMNS.map((c) => [c, Number(row[`${c}_sum`])])) as Record<
        SumColumn,
        number
      >,
    );
  }
  return out;
}
