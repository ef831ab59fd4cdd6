import type { Workload } from "../core/cell";
import { type Architecture, type Cell, parseCellId, sizeFactor } from "../core/cell";
import type { Pricing } from "../core/pricing";
import { s3PutRequests } from "../core/pricing";
import { WORKLOADS } from "../core/workloads";
import { type CostBreakdown, costOf, PLATFORM_LOG_BYTES } from "./cost";
import type { LoadedRun, RecordColumns } from "./loaded-run";
import { percentileSorted } from "./stats";

/** Per-run statistics: one row of results.csv. */
export interface RunStats {
  readonly runId: string;
  readonly cellId: string;
  readonly cell: Cell;
  readonly workload: Workload;
  readonly memoryMb: number;
  /** BATCH_EVENTS (events) or MULTIPART_MB (batch). */
  readonly size: number;
  readonly reservedConcurrency: number;
  readonly functionName: string;
  readonly trial: number;
  readonly invocations: number;
  /** Successful invocations (records with ok = true). */
  readonly ok: number;
  /** Records with ok = false + invocations without a response + function errors without a record. */
  readonly errors: number;
  readonly throttles: number;
  readonly coldStarts: number;
  /** Records expected: invocations that reached the function and got a response. */
  readonly expected: number;
  readonly records: number;
  readonly missing: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Σ latency of the successful records, ms (meanMs × ok, exactly): cells pool their mean from it. */
  readonly latencySumMs: number;
  /** max(ts_end_ms) − min(ts_start_ms) over ok records; a single record's latency. */
  readonly windowMs: number;
  readonly throughputObjPerS: number;
  readonly bytesSum: number;
  readonly mbPerS: number;
  readonly eventsSum: number;
  readonly s3PutRequests: number;
  readonly billedMs: number;
  /** Σ REPORT Billed Duration, ms: equals billedMs when every invocation carried REPORT data. */
  readonly reportBilledMs: number;
  /** Σ REPORT Init Duration, ms (already inside Billed Duration where billed). */
  readonly initMs: number;
  /** Invocations with REPORT data. */
  readonly reportedInvocations: number;
  /** Records without REPORT data, billed from the handler's latency instead. */
  readonly billedFromLatency: number;
  /** Invocations that reached the function with neither REPORT data nor a record: billed 0 ms. */
  readonly reachedUnbilled: number;
  readonly logBytes: number;
  readonly cost: CostBreakdown;
}

/** Recovers a cell from its id (`events-512mb-b10-rc0`) when the manifest does not list it. */
export const cellFromId: (id: string) => Cell | undefined = parseCellId;

/**
 * Record indices grouped by `groupOf[run]` (counting sort, no per-record objects):
 * `order[offsets[g] .. offsets[g + 1])` are the records of group g. Records of run −1 are left out.
 */
export function groupRecords(
  records: RecordColumns,
  groupOf: Int32Array,
  groups: number,
): { offsets: Int32Array; order: Int32Array } {
  const counts = new Int32Array(groups + 1);
  for (let i = 0; i < records.length; i++) {
    const g = groupOf[records.run[i] ?? -1] ?? -1;
    if (g >= 0) counts[g + 1] = (counts[g + 1] ?? 0) + 1;
  }
  for (let g = 0; g < groups; g++) counts[g + 1] = (counts[g + 1] ?? 0) + (counts[g] ?? 0);
  const offsets = counts.slice();
  const cursor = counts.slice(0, groups);
  const order = new Int32Array(offsets[groups] ?? 0);
  for (let i = 0; i < records.length; i++) {
    const g = groupOf[records.run[i] ?? -1] ?? -1;
    if (g >= 0) {
      const c = cursor[g] ?? 0;
      order[c] = i;
      cursor[g] = c + 1;
    }
  }
  return { offsets, order };
}

/** Sorted latencies of the successful records among `order[from..to)`. */
export function okLatencies(
  records: RecordColumns,
  order: Int32Array,
  from: number,
  to: number,
): Float64Array {
  let n = 0;
  for (let k = from; k < to; k++) if (records.ok[order[k] ?? 0] === 1) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let k = from; k < to; k++) {
    const i = order[k] ?? 0;
    if (records.ok[i] === 1) out[j++] = records.latencyMs[i] ?? 0;
  }
  return out.sort();
}

/**
 * One {@link RunStats} per run, sorted by workload, memory, size factor, reserved concurrency,
 * trial. The hot loop runs over typed arrays, not a dataframe: it must handle 1M records in
 * seconds. Runs whose cell cannot be determined are returned in `unassigned`.
 */
export function computeRunStats(
  loaded: LoadedRun,
  pricing: Pricing,
): { runs: RunStats[]; unassigned: string[] } {
  const { records } = loaded;
  const architecture: Architecture = loaded.manifest.architecture;
  const n = loaded.runs.length;
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const { offsets, order } = groupRecords(records, identity, n);
  const out: RunStats[] = [];
  const unassigned: string[] = [];
  loaded.runs.forEach((run, r) => {
    const cell = run.cell ?? cellFromId(run.cellId);
    if (cell === undefined) {
      unassigned.push(run.runId);
      return;
    }
    const from = offsets[r] ?? 0;
    const to = offsets[r + 1] ?? 0;
    let ok = 0;
    let failed = 0;
    let cold = 0;
    let tsMin = Number.POSITIVE_INFINITY;
    let tsMax = Number.NEGATIVE_INFINITY;
    let bytesSum = 0;
    let eventsSum = 0;
    let puts = 0;
    let billedMs = run.unmatchedReportBilledMs;
    let logBytes = 0;
    let lastLatency = 0;
    let sum = 0;
    for (let k = from; k < to; k++) {
      const i = order[k] ?? 0;
      if (records.coldStart[i] === 1) cold++;
      billedMs += records.billedMs[i] ?? 0;
      logBytes += records.lineBytes[i] ?? 0;
      if (records.ok[i] === 1) {
        ok++;
        const s = records.tsStartMs[i] ?? 0;
        const e = records.tsEndMs[i] ?? 0;
        if (s < tsMin) tsMin = s;
        if (e > tsMax) tsMax = e;
        lastLatency = records.latencyMs[i] ?? 0;
        sum += lastLatency;
        bytesSum += records.objectBytes[i] ?? 0;
        eventsSum += records.events[i] ?? 0;
        // Failed uploads are not counted: how far they got is unknown.
        puts += s3PutRequests(records.parts[i] ?? 0);
      } else {
        failed++;
      }
    }
    const lat = okLatencies(records, order, from, to);
    const nRecords = to - from;
    const windowMs = ok === 0 ? Number.NaN : ok === 1 ? lastLatency : tsMax - tsMin;
    const windowS = windowMs / 1000;
    const requests = Math.max(run.reached, nRecords);
    // Platform lines for every invocation that reached the function, INIT on cold starts.
    logBytes +=
      requests * (PLATFORM_LOG_BYTES.start + PLATFORM_LOG_BYTES.end + PLATFORM_LOG_BYTES.report) +
      cold * PLATFORM_LOG_BYTES.init;
    const cost = costOf(
      {
        memoryMb: cell.memoryMb,
        architecture,
        requests,
        billedMs,
        s3PutRequests: puts,
        logBytes,
      },
      pricing,
    );
    out.push({
      runId: run.runId,
      cellId: run.cellId,
      cell,
      workload: cell.workload,
      memoryMb: cell.memoryMb,
      size: sizeFactor(cell),
      reservedConcurrency: cell.reservedConcurrency,
      functionName: run.functionName,
      trial: run.trial,
      invocations: run.invocations,
      ok,
      errors: failed + run.noResponse + run.functionErrorsWithoutRecord,
      throttles: run.throttles,
      coldStarts: cold,
      expected: run.reached,
      records: nRecords,
      missing: Math.max(0, run.reached - nRecords),
      p50Ms: percentileSorted(lat, 50),
      p95Ms: percentileSorted(lat, 95),
      p99Ms: percentileSorted(lat, 99),
      meanMs: ok === 0 ? Number.NaN : sum / ok,
      latencySumMs: sum,
      windowMs,
      throughputObjPerS: windowS > 0 ? ok / windowS : Number.NaN,
      bytesSum,
      mbPerS: windowS > 0 ? bytesSum / (1024 * 1024) / windowS : Number.NaN,
      eventsSum,
      s3PutRequests: puts,
      billedMs,
      reportBilledMs: run.reportBilledMs,
      initMs: run.initMs,
      reportedInvocations: run.reportedInvocations,
      billedFromLatency: run.billedFromLatency,
      reachedUnbilled: run.reachedUnbilled,
      logBytes,
      cost,
    });
  });
  const wl = (w: Workload): number => WORKLOADS.indexOf(w);
  out.sort(
    (a, b) =>
      wl(a.workload) - wl(b.workload) ||
      a.memoryMb - b.memoryMb ||
      a.size - b.size ||
      a.reservedConcurrency - b.reservedConcurrency ||
      (Number.isNaN(a.trial) ? 0 : a.trial) - (Number.isNaN(b.trial) ? 0 : b.trial) ||
      a.runId.localeCompare(b.runId),
  );
  return { runs: out, unassigned };
}
