import * as dfd from "danfojs";
import type { Architecture, Cell, Workload } from "../core/cell";
import type { Pricing } from "../core/pricing";
import { type CostBreakdown, costOf } from "./cost";
import type { RunStats } from "./runs";
import { mean, paretoMinMin, sampleStd } from "./stats";

/** Per-cell statistics over its trials. */
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
  /** Runs with a p95 (at least one successful record). */
  readonly p95Runs: number;
  readonly p95Mean: number;
  readonly p95Std: number;
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

/** Columns of the per-run dataframe that are summed per cell. */
const SUM_COLUMNS = [
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
] as const;

/** The per-run table as a danfojs DataFrame (one row per run, numeric columns, cell_id key). */
export function runsFrame(runs: readonly RunStats[]): dfd.DataFrame {
  return new dfd.DataFrame(
    runs.map((r) => ({
      cell_id: r.cellId,
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
    })),
  );
}

function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

/**
 * Aggregates runs into cells: counts and usage summed with a danfojs groupby; p95 mean and
 * sample std of the per-trial p95 (for reference: the honest interval is the t interval on ln
 * warm p95 in units.ts); cost of the summed usage, normalised.
 */
export function computeCellStats(
  runs: readonly RunStats[],
  architecture: Architecture,
  pricing: Pricing,
): CellStats[] {
  if (runs.length === 0) return [];
  const grouped = runsFrame(runs)
    .groupby(["cell_id"])
    .agg(Object.fromEntries(SUM_COLUMNS.map((c) => [c, "sum"])));
  const sums = new Map<string, Record<string, number>>();
  for (const row of dfd.toJSON(grouped) as Record<string, unknown>[]) {
    const id = String(row.cell_id);
    const rec: Record<string, number> = {};
    for (const c of SUM_COLUMNS) rec[c] = Number(row[`${c}_sum`]);
    sums.set(id, rec);
  }
  const byCell = new Map<string, RunStats[]>();
  for (const r of runs) {
    const list = byCell.get(r.cellId) ?? [];
    list.push(r);
    byCell.set(r.cellId, list);
  }
  const out: CellStats[] = [];
  for (const [id, list] of byCell) {
    const first = list[0];
    const s = sums.get(id);
    if (first === undefined || s === undefined) continue;
    const get = (c: (typeof SUM_COLUMNS)[number]): number => s[c] ?? 0;
    const p95s = finite(list.map((r) => r.p95Ms));
    const tps = finite(list.map((r) => r.throughputObjPerS));
    const cost = costOf(
      {
        memoryMb: first.memoryMb,
        architecture,
        requests: get("requests"),
        billedMs: get("billed_ms"),
        s3PutRequests: get("s3_put_requests"),
        logBytes: get("log_bytes"),
      },
      pricing,
    );
    const gb = get("bytes_sum") / 1024 ** 3;
    const events = get("events_sum");
    out.push({
      cellId: id,
      cell: first.cell,
      workload: first.workload,
      memoryMb: first.memoryMb,
      size: first.size,
      reservedConcurrency: first.reservedConcurrency,
      functionName: first.functionName,
      runs: list.length,
      invocations: get("invocations"),
      ok: get("ok"),
      errors: get("errors"),
      throttles: get("throttles"),
      coldStarts: get("cold_starts"),
      expected: get("expected"),
      records: get("records"),
      missing: get("missing"),
      p95Runs: p95s.length,
      p95Mean: mean(p95s),
      p95Std: sampleStd(p95s),
      throughputMean: mean(tps),
      throughputStd: sampleStd(tps),
      mbPerSMean: mean(finite(list.map((r) => r.mbPerS))),
      bytesSum: get("bytes_sum"),
      eventsSum: events,
      requests: get("requests"),
      billedMs: get("billed_ms"),
      reportBilledMs: get("report_billed_ms"),
      initMs: get("init_ms"),
      billedFromLatency: get("billed_from_latency"),
      s3PutRequests: get("s3_put_requests"),
      logBytes: get("log_bytes"),
      cost,
      usdPer1000Invocations:
        get("requests") > 0 ? (cost.total / get("requests")) * 1000 : Number.NaN,
      usdPerGb: gb > 0 ? cost.total / gb : Number.NaN,
      usdPer1MEvents: events > 0 ? (cost.total / events) * 1e6 : Number.NaN,
    });
  }
  return out;
}

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
  /** Cells of the workload left out of every pick above, with why. */
  /** Cells never recommended: `reason` in words, `codes` for code to read. */
  readonly ineligible: readonly {
    readonly cell: CellStats;
    readonly reason: string;
    readonly codes: readonly IneligibleCode[];
  }[];
}

/**
 * Above this share of invocations throttled, failed or without a record, a cell is not
 * recommended: its latency and cost describe only the invocations that got through, so a cell
 * that rejects half its load would otherwise look fast and cheap.
 */
export const MAX_LOST_SHARE = 0.05;

/** Why a cell cannot be recommended from its own counts, or undefined when it can. */
/**
 * Why a cell is never recommended, as codes (what code reads) with a message (what people read):
 * more than {@link MAX_LOST_SHARE} of invocations throttled or failed, or of records missing; no
 * successful invocation; its journal says it failed or never finished.
 */
export type IneligibleCode =
  | "throttled"
  | "invocations-failed"
  | "records-missing"
  | "no-success"
  | "cell-failed"
  | "cell-unfinished";

/** A cell's reasons not to be recommended. */
export interface Ineligibility {
  readonly codes: readonly IneligibleCode[];
  /** The reasons in words, `; `-separated (p95.csv, summary, report). */
  readonly message: string;
}

/** The codes that come from the cell's journal rather than from its losses. */
export const JOURNAL_CODES: readonly IneligibleCode[] = ["cell-failed", "cell-unfinished"];

/** Joins reasons into one {@link Ineligibility}; undefined when there are none. */
export function ineligibilityOf(
  reasons: readonly { code: IneligibleCode; message: string }[],
): Ineligibility | undefined {
  if (reasons.length === 0) return undefined;
  return { codes: reasons.map((r) => r.code), message: reasons.map((r) => r.message).join(", ") };
}

/** A cell's losses as reasons (throttles, failures, missing records, no success). */
export function lossReasons(c: CellStats): { code: IneligibleCode; message: string }[] {
  const reasons: { code: IneligibleCode; message: string }[] = [];
  const share = (n: number, of: number): string => `${((100 * n) / of).toFixed(0)}%`;
  if (c.invocations > 0 && c.throttles / c.invocations > MAX_LOST_SHARE)
    reasons.push({
      code: "throttled",
      message: `${share(c.throttles, c.invocations)} of invocations throttled`,
    });
  if (c.invocations > 0 && c.errors / c.invocations > MAX_LOST_SHARE)
    reasons.push({
      code: "invocations-failed",
      message: `${share(c.errors, c.invocations)} of invocations failed`,
    });
  if (c.expected > 0 && c.missing / c.expected > MAX_LOST_SHARE)
    reasons.push({
      code: "records-missing",
      message: `${share(c.missing, c.expected)} of records missing`,
    });
  if (!Number.isFinite(c.p95Mean))
    reasons.push({ code: "no-success", message: "no successful invocation" });
  return reasons;
}

/** A cell's losses as one {@link Ineligibility}. */
export function lossReason(c: CellStats): Ineligibility | undefined {
  return ineligibilityOf(lossReasons(c));
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
