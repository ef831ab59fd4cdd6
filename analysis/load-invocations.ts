/** The client's side of a run directory: invocations.jsonl, counted per run. */
import { asInvocationRecord, type InvocationRecord } from "../core/run-files";
import { invocationOutOfBounds } from "./bounds";
import { forEachLine } from "./lines";
import { countOutOfBounds, type ExcludedRun, type RunTable, type SkippedLines } from "./loaded-run";
import type { ClientSide } from "./record-columns";

/** What the invocations tell the record pass: REPORT billing, errors and client times by request id. */
export interface InvocationFacts {
  /** REPORT billed ms by request id, until a record of the invocation claims it. */
  readonly reports: Map<string, { run: number; billedMs: number }>;
  /** Invocations with a function error: without a record, a crash before the EMF line. */
  readonly functionErrors: readonly { run: number; requestId: string }[];
  /** Reached invocations without REPORT data: unbilled unless a record of theirs turns up. */
  readonly unbilled: readonly { run: number; requestId: string }[];
  /** Client latency and INIT by request id (cold starts, or no REPORT to tell). */
  readonly clientSide: ReadonlyMap<string, ClientSide>;
}

/**
 * Reads invocations.jsonl into the run table (client-side counts, REPORT billing, local host
 * measurements); malformed, duplicate and out-of-bounds lines are counted in `skipped`, lines of
 * excluded runs counted on their {@link ExcludedRun}.
 */
export function readInvocations(
  file: string,
  table: RunTable,
  excluded: ReadonlyMap<string, ExcludedRun>,
  skipped: SkippedLines,
): InvocationFacts {
  const reports = new Map<string, { run: number; billedMs: number }>();
  const functionErrors: { run: number; requestId: string }[] = [];
  /** Reached invocations without REPORT data: unbilled unless a record of theirs turns up. */
  const unbilled: { run: number; requestId: string }[] = [];
  const seenInvocations = new Set<string>();
  const clientSide = new Map<string, ClientSide>();
  forEachLine(file, (line) => {
    if (line.trim() === "") return;
    let inv: InvocationRecord | null = null;
    try {
      inv = asInvocationRecord(JSON.parse(line));
    } catch {
      inv = null;
    }
    if (inv === null) {
      skipped.invocationsMalformed++;
      return;
    }
    const invKey =
      typeof inv.request_id === "string" && inv.request_id !== ""
        ? inv.request_id
        : `${inv.run_id}#${String(inv.seq)}`;
    if (seenInvocations.has(invKey)) {
      skipped.invocationsDuplicate++;
      return;
    }
    seenInvocations.add(invKey);
    const invBad = invocationOutOfBounds(inv);
    if (invBad !== undefined) {
      skipped.invocationsOutOfBounds++;
      countOutOfBounds(skipped, `invocations.jsonl: ${invBad}`);
      return;
    }
    const ex = excluded.get(inv.run_id);
    if (ex !== undefined) {
      ex.invocations++;
      return;
    }
    const ri = table.of(inv.run_id);
    const run = table.runs[ri];
    if (run === undefined) return;
    table.assignCell(run, inv.cell_id);
    if (run.functionName === "" && typeof inv.function_name === "string") {
      run.functionName = inv.function_name;
    }
    if (typeof inv.trial === "number" && Number.isNaN(run.trial)) run.trial = inv.trial;
    if ((inv as { warmup?: unknown }).warmup === true || inv.trial === 0) run.warmup = true;
    if (typeof inv.host_saturated === "boolean") {
      run.hostMeasured++;
      if (inv.host_saturated) run.hostSaturated++;
    }
    if (typeof inv.local_cpu_quota_share === "number") {
      run.quotaShares.push(inv.local_cpu_quota_share);
    }
    const init = inv.report?.init_duration_ms;
    // Kept only where it can matter (cold starts: REPORT has an Init Duration; or no REPORT
    // to tell), so a million warm invocations add no map entries.
    if (
      typeof inv.request_id === "string" &&
      inv.request_id !== "" &&
      (inv.report === undefined || typeof init === "number")
    ) {
      clientSide.set(inv.request_id, {
        clientMs: inv.client_end_ms - inv.client_start_ms,
        initMs: typeof init === "number" ? init : Number.NaN,
      });
    }
    run.invocations++;
    if (inv.throttled) run.throttles++;
    else if (inv.status_code === 0) run.noResponse++;
    else run.reached++;
    const rep = inv.report;
    if (rep !== undefined && typeof rep.billed_duration_ms === "number") {
      // Billed Duration already includes INIT where INIT is billed: used as reported.
      if (typeof rep.init_duration_ms === "number") run.initMs += rep.init_duration_ms;
      run.reportedInvocations++;
      const billed = rep.billed_duration_ms;
      run.reportBilledMs += billed;
      if (typeof inv.request_id === "string" && inv.request_id !== "") {
        reports.set(inv.request_id, { run: ri, billedMs: billed });
      } else {
        run.unmatchedReportBilledMs += billed;
      }
    }
    if (inv.function_error !== undefined && typeof inv.request_id === "string") {
      functionErrors.push({ run: ri, requestId: inv.request_id });
    }
    if (
      !inv.throttled &&
      inv.status_code !== 0 &&
      typeof rep?.billed_duration_ms !== "number" &&
      typeof inv.request_id === "string" &&
      inv.request_id !== ""
    ) {
      unbilled.push({ run: ri, requestId: inv.request_id });
    }
  });
  return { reports, functionErrors, unbilled, clientSide };
}
