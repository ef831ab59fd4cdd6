import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { billedDurationMs } from "../core/billing";
import type { Cell } from "../core/cell";
import { cellFromRecord, cellId } from "../core/cell";
import { asEmfRecord, type EmfRecord, extractEmfRecord } from "../core/emf";
import { InvalidInputError } from "../core/errors";
import {
  asInvocationRecord,
  type InvocationRecord,
  type Manifest,
  movesCellState,
  RUN_FILES,
  readJournalFile,
  readManifest,
} from "../core/run-files";
import { invocationOutOfBounds, recordOutOfBounds } from "./bounds";
import { forEachLine } from "./lines";

/** One run (cell × trial), with the client-side counts of its invocations. */
export interface RunInfo {
  readonly runId: string;
  cellId: string;
  cell: Cell | undefined;
  functionName: string;
  /** Trial number; NaN when neither the invocations nor the journal say. */
  trial: number;
  /** Invocations sent (from invocations.jsonl; equals records when that file is absent). */
  invocations: number;
  throttles: number;
  /** Invocations that reached the function and got a response: the records expected. */
  reached: number;
  /** Invocations that got no response and were not throttled (network, client timeout). */
  noResponse: number;
  /** Invocations with a function error and no record (crash before the EMF line). */
  functionErrorsWithoutRecord: number;
  /** Billed ms from REPORT data whose invocation has no record. */
  unmatchedReportBilledMs: number;
  /** Σ REPORT Billed Duration of the run's invocations, ms (INIT included where billed). */
  reportBilledMs: number;
  /** Σ REPORT Init Duration, ms, as reported: its own column, never added to billed time. */
  initMs: number;
  /** Invocations whose billing came from REPORT data. */
  reportedInvocations: number;
  /**
   * Records whose invocation carried no REPORT data: their billed time is estimated from the
   * handler's own latency (which excludes INIT), counted so that the summary can say so.
   */
  billedFromLatency: number;
  /**
   * Invocations that reached the function with neither REPORT data nor a record (by request
   * id): nothing tells their billed time, so they add 0 ms to the billed total; counted so the
   * summary and the report say so.
   */
  reachedUnbilled: number;
  /**
   * A warm-up run (trial 0, or invocations marked `warmup: true`): it takes the cell's cold
   * starts before the measured trials and is left out of warm statistics and the model.
   */
  warmup: boolean;
  /** Local runtime only: invocations with a host measurement, and how many found it saturated. */
  hostMeasured: number;
  hostSaturated: number;
  /** Local runtime only: each measured invocation's CPU share of its quota. */
  quotaShares: number[];
  /** Other cells live during the trial (trial-done `concurrent_cells`, `--parallel` > 1). */
  concurrentCells: string[];
}

/** Records of all runs, column by column (typed arrays: 1M records must fit comfortably). */
export interface RecordColumns {
  readonly length: number;
  readonly run: Int32Array;
  readonly latencyMs: Float64Array;
  readonly tsStartMs: Float64Array;
  readonly tsEndMs: Float64Array;
  readonly objectBytes: Float64Array;
  readonly events: Float64Array;
  readonly parts: Float64Array;
  readonly ok: Uint8Array;
  readonly coldStart: Uint8Array;
  /** Bytes of the line as stored: the estimate of the EMF line's log size. */
  readonly lineBytes: Float64Array;
  /**
   * Billed ms: REPORT's Billed Duration as reported when known, else the billing rule applied
   * to the handler's latency (core/billing.ts).
   */
  readonly billedMs: Float64Array;
  /** Client-side latency (client_end_ms − client_start_ms) of the matching invocation; NaN if unknown. */
  readonly clientMs: Float64Array;
  /** REPORT's Init Duration of the matching invocation (cold starts); NaN if not reported. */
  readonly initMs: Float64Array;
}

/** Lines that were skipped, per file and reason: reported, never fatal. */
export interface SkippedLines {
  /** records.jsonl lines that are not a valid EMF record (bad JSON, wrong schema, other logs). */
  recordsMalformed: number;
  /** Valid records of a run that is not in invocations.jsonl. */
  recordsForeign: number;
  /** Records of an invocation already seen (same request_id; else same run, start and key). */
  recordsDuplicate: number;
  /** Records with a value outside physical bounds (analysis/bounds.ts). */
  recordsOutOfBounds: number;
  invocationsMalformed: number;
  /** invocations.jsonl lines of an invocation already seen (same request_id; else run and seq). */
  invocationsDuplicate: number;
  /** Invocation lines with a value outside physical bounds. */
  invocationsOutOfBounds: number;
  journalMalformed: number;
  /** Out-of-bounds lines by `file: reason`. */
  outOfBoundsReasons: Record<string, number>;
}

/** A cell's state at the end of its journal. */
export interface CellOutcome {
  /** done; failed (last entry `failed`, not redone); unfinished (no final entry: run killed or in progress). */
  readonly status: "done" | "failed" | "unfinished";
  /** The error of the last `failed` entry. */
  readonly error?: string;
  /** Runs of the cell kept in the analysis (harvested, not discarded). */
  readonly keptRuns: number;
}

/** A run left out of every statistic, and why. */
export interface ExcludedRun {
  readonly runId: string;
  readonly cellId: string;
  readonly trial: number;
  /**
   * discarded: listed in a `failed` entry's discarded_run_ids (`--resume` redid the cell);
   * not-harvested: its cell failed or stopped before the run's records were collected.
   */
  readonly kind: "discarded" | "not-harvested";
  /** The journal's error for the discard or failure. */
  readonly reason: string;
  /** Lines of the run found and skipped. */
  invocations: number;
  records: number;
}

/** Everything analysis needs from a run directory. */
export interface LoadedRun {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly runs: readonly RunInfo[];
  readonly records: RecordColumns;
  readonly skipped: SkippedLines;
  /** False when invocations.jsonl is missing: client-side counts fall back to the records. */
  readonly hasInvocations: boolean;
  /** Runs left out of every statistic (their lines are counted here only). */
  readonly excluded: readonly ExcludedRun[];
  /** Per cell id, its journal outcome (cells without journal entries are absent). */
  readonly outcomes: ReadonlyMap<string, CellOutcome>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What the client saw of one invocation, joined to its record by request id. */
interface ClientSide {
  readonly clientMs: number;
  readonly initMs: number;
}

/** Growable typed-array columns. */
class ColumnBuilder {
  length = 0;
  private capacity = 1024;
  run = new Int32Array(this.capacity);
  latencyMs = new Float64Array(this.capacity);
  tsStartMs = new Float64Array(this.capacity);
  tsEndMs = new Float64Array(this.capacity);
  objectBytes = new Float64Array(this.capacity);
  events = new Float64Array(this.capacity);
  parts = new Float64Array(this.capacity);
  ok = new Uint8Array(this.capacity);
  coldStart = new Uint8Array(this.capacity);
  lineBytes = new Float64Array(this.capacity);
  billedMs = new Float64Array(this.capacity);
  clientMs = new Float64Array(this.capacity);
  initMs = new Float64Array(this.capacity);

  private grow(): void {
    this.capacity *= 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(this.capacity);
      b.set(a);
      return b;
    };
    this.run = g(this.run, (n) => new Int32Array(n));
    this.latencyMs = g(this.latencyMs, (n) => new Float64Array(n));
    this.tsStartMs = g(this.tsStartMs, (n) => new Float64Array(n));
    this.tsEndMs = g(this.tsEndMs, (n) => new Float64Array(n));
    this.objectBytes = g(this.objectBytes, (n) => new Float64Array(n));
    this.events = g(this.events, (n) => new Float64Array(n));
    this.parts = g(this.parts, (n) => new Float64Array(n));
    this.ok = g(this.ok, (n) => new Uint8Array(n));
    this.coldStart = g(this.coldStart, (n) => new Uint8Array(n));
    this.lineBytes = g(this.lineBytes, (n) => new Float64Array(n));
    this.billedMs = g(this.billedMs, (n) => new Float64Array(n));
    this.clientMs = g(this.clientMs, (n) => new Float64Array(n));
    this.initMs = g(this.initMs, (n) => new Float64Array(n));
  }

  push(
    run: number,
    r: EmfRecord,
    lineBytes: number,
    billedMs: number,
    client: ClientSide | undefined,
  ): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    this.run[i] = run;
    this.latencyMs[i] = r.latency_ms;
    this.tsStartMs[i] = r.ts_start_ms;
    this.tsEndMs[i] = r.ts_end_ms;
    this.objectBytes[i] = r.object_bytes;
    this.events[i] = r.events_generated;
    this.parts[i] = r.multipart_parts;
    this.ok[i] = r.ok ? 1 : 0;
    this.coldStart[i] = r.cold_start ? 1 : 0;
    this.lineBytes[i] = lineBytes;
    this.billedMs[i] = billedMs;
    this.clientMs[i] = client?.clientMs ?? Number.NaN;
    this.initMs[i] = client?.initMs ?? Number.NaN;
  }

  build(): RecordColumns {
    const n = this.length;
    return {
      length: n,
      run: this.run.subarray(0, n),
      latencyMs: this.latencyMs.subarray(0, n),
      tsStartMs: this.tsStartMs.subarray(0, n),
      tsEndMs: this.tsEndMs.subarray(0, n),
      objectBytes: this.objectBytes.subarray(0, n),
      events: this.events.subarray(0, n),
      parts: this.parts.subarray(0, n),
      ok: this.ok.subarray(0, n),
      coldStart: this.coldStart.subarray(0, n),
      lineBytes: this.lineBytes.subarray(0, n),
      billedMs: this.billedMs.subarray(0, n),
      clientMs: this.clientMs.subarray(0, n),
      initMs: this.initMs.subarray(0, n),
    };
  }
}

function newRun(runId: string): RunInfo {
  return {
    runId,
    cellId: "",
    cell: undefined,
    functionName: "",
    trial: Number.NaN,
    invocations: 0,
    throttles: 0,
    reached: 0,
    noResponse: 0,
    functionErrorsWithoutRecord: 0,
    unmatchedReportBilledMs: 0,
    reportBilledMs: 0,
    initMs: 0,
    reportedInvocations: 0,
    billedFromLatency: 0,
    reachedUnbilled: 0,
    warmup: false,
    hostMeasured: 0,
    hostSaturated: 0,
    quotaShares: [],
    concurrentCells: [],
  };
}

function nonEmptyFile(file: string): boolean {
  return existsSync(file) && statSync(file).size > 0;
}

const AWS_PREFIX = '{"_aws":';
const AWS_END = '}]},"';

/**
 * Parses one records.jsonl line. Fast path for the line exactly as the handler writes it
 * (`{"_aws":{…},"ts_start_ms":…}`): the `_aws` block (a third of the bytes, never read here)
 * is cut off before JSON.parse; the root fields are then checked by asEmfRecord as usual.
 * Anything else goes through extractEmfRecord (wrapped log formats, prefixes).
 */
export function parseRecordLine(line: string): EmfRecord | null {
  if (line.startsWith(AWS_PREFIX)) {
    const end = line.indexOf(AWS_END, AWS_PREFIX.length);
    if (end > 0) {
      try {
        const r = asEmfRecord(JSON.parse(`{${line.slice(end + AWS_END.length - 1)}`));
        if (r !== null) return r;
      } catch {
        // fall through to the general parser
      }
    }
  }
  return extractEmfRecord(line);
}

/**
 * Loads a run directory: manifest.json (required), invocations.jsonl and journal.jsonl (used
 * when present), records.jsonl. Malformed, foreign and duplicate lines are skipped and counted.
 * A missing directory, missing manifest or a run without any invocation or record is bad input.
 */
export function loadRun(dir: string): LoadedRun {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InvalidInputError(
      "run directory",
      dir,
      "an existing run directory (results/<run>) written by npm run experiment",
    );
  }
  if (!existsSync(join(dir, RUN_FILES.manifest))) {
    throw new InvalidInputError(
      "run directory",
      dir,
      `a run directory containing ${RUN_FILES.manifest}`,
    );
  }
  const manifest = readManifest(dir, "run directory");
  const invFile = join(dir, RUN_FILES.invocations);
  const recFile = join(dir, RUN_FILES.records);
  const journalFile = join(dir, RUN_FILES.journal);
  const hasInvocations = nonEmptyFile(invFile);
  if (!hasInvocations && !nonEmptyFile(recFile)) {
    throw new InvalidInputError(
      "run directory",
      dir,
      `a run with data: ${RUN_FILES.invocations} and ${RUN_FILES.records} are both missing or empty`,
    );
  }
  const skipped: SkippedLines = {
    recordsMalformed: 0,
    recordsForeign: 0,
    recordsDuplicate: 0,
    recordsOutOfBounds: 0,
    invocationsMalformed: 0,
    invocationsDuplicate: 0,
    invocationsOutOfBounds: 0,
    outOfBoundsReasons: {},
    journalMalformed: 0,
  };
  const manifestCells = new Map(manifest.cells.map((c) => [c.cell_id, c]));
  const runs: RunInfo[] = [];
  const runIndex = new Map<string, number>();
  const runOf = (runId: string): number => {
    let i = runIndex.get(runId);
    if (i === undefined) {
      i = runs.length;
      runs.push(newRun(runId));
      runIndex.set(runId, i);
    }
    return i;
  };
  const assignCell = (run: RunInfo, id: string): void => {
    if (run.cellId !== "") return;
    const mc = manifestCells.get(id);
    run.cellId = id;
    if (mc !== undefined) {
      run.cell = mc.cell;
      run.functionName = mc.function_name;
    }
  };

  // Journal first: it knows each run's cell and trial even if every invocation was throttled,
  // which runs --resume discarded, and which cells ended failed.
  const journal = new JournalFacts();
  /** Each cell's function name by its latest `deployed` entry so far. */
  const deployedNames = new Map<string, string>();
  const journalRead = readJournalFile(journalFile);
  skipped.journalMalformed += journalRead.malformed;
  for (const v of journalRead.entries) {
    journal.add(v.cell_id, v.phase, v.run_id, v.detail);
    if (v.phase === "deployed" && typeof v.detail?.function_name === "string") {
      deployedNames.set(v.cell_id, v.detail.function_name);
    }
    if (typeof v.run_id === "string" && v.run_id !== "") {
      const run = runs[runOf(v.run_id)];
      if (run === undefined) continue;
      assignCell(run, v.cell_id);
      // The function of the attempt the run was made in (the manifest has the first's).
      const deployedName = deployedNames.get(v.cell_id);
      if (v.phase === "trial-start" && deployedName !== undefined) {
        run.functionName = deployedName;
      }
      if (typeof v.trial === "number") run.trial = v.trial;
      if (v.trial === 0) run.warmup = true;
      const beside = (v.detail as Record<string, unknown> | undefined)?.concurrent_cells;
      if (v.phase === "trial-done" && Array.isArray(beside)) {
        run.concurrentCells = beside.filter((c): c is string => typeof c === "string");
      }
    }
  }

  const excluded = journal.excludedRuns((id) => runs[runIndex.get(id) ?? -1]?.trial ?? Number.NaN);

  const reports = new Map<string, { run: number; billedMs: number }>();
  const functionErrors: { run: number; requestId: string }[] = [];
  /** Reached invocations without REPORT data: unbilled unless a record of theirs turns up. */
  const unbilled: { run: number; requestId: string }[] = [];
  const seenInvocations = new Set<string>();
  const countReason = (reason: string): void => {
    skipped.outOfBoundsReasons[reason] = (skipped.outOfBoundsReasons[reason] ?? 0) + 1;
  };
  const clientSide = new Map<string, ClientSide>();
  if (hasInvocations) {
    forEachLine(invFile, (line) => {
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
        countReason(`invocations.jsonl: ${invBad}`);
        return;
      }
      const ex = excluded.get(inv.run_id);
      if (ex !== undefined) {
        ex.invocations++;
        return;
      }
      const ri = runOf(inv.run_id);
      const run = runs[ri];
      if (run === undefined) return;
      assignCell(run, inv.cell_id);
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
  }

  const cols = new ColumnBuilder();
  const seen = new Set<string>();
  if (existsSync(recFile)) {
    forEachLine(recFile, (line, bytes) => {
      if (line.length === 0 || line.trim() === "") return;
      const r = parseRecordLine(line);
      if (r === null) {
        skipped.recordsMalformed++;
        return;
      }
      const ex = excluded.get(r.run_id);
      if (ex !== undefined) {
        ex.records++;
        return;
      }
      let ri = runIndex.get(r.run_id);
      if (hasInvocations && (ri === undefined || runs[ri]?.invocations === 0)) {
        skipped.recordsForeign++;
        return;
      }
      if (ri === undefined) ri = runOf(r.run_id);
      // request_id names the invocation; without one, its run, start time and key do.
      const recKey =
        r.request_id !== "" ? r.request_id : `${r.run_id}|${r.ts_start_ms}|${r.s3_key}`;
      if (seen.has(recKey)) {
        skipped.recordsDuplicate++;
        return;
      }
      seen.add(recKey);
      const recBad = recordOutOfBounds(r);
      if (recBad !== undefined) {
        skipped.recordsOutOfBounds++;
        countReason(`records.jsonl: ${recBad}`);
        return;
      }
      const run = runs[ri];
      if (run === undefined) return;
      if (run.cell === undefined) {
        run.cell = cellFromRecord(r);
        if (run.cellId === "") run.cellId = cellId(run.cell);
      }
      if (run.functionName === "") run.functionName = r.function_name;
      const rep = reports.get(r.request_id);
      let billed: number;
      if (rep !== undefined) {
        billed = rep.billedMs;
        reports.delete(r.request_id);
      } else {
        billed = billedDurationMs(r.latency_ms);
        run.billedFromLatency++;
      }
      // +1: the newline is ingested too.
      cols.push(ri, r, bytes + 1, billed, clientSide.get(r.request_id));
    });
  }
  for (const rep of reports.values()) {
    const run = runs[rep.run];
    if (run !== undefined) run.unmatchedReportBilledMs += rep.billedMs;
  }
  for (const fe of functionErrors) {
    const run = runs[fe.run];
    if (run !== undefined && !seen.has(fe.requestId)) run.functionErrorsWithoutRecord++;
  }
  for (const u of unbilled) {
    const run = runs[u.run];
    if (run !== undefined && !seen.has(u.requestId)) run.reachedUnbilled++;
  }
  const records = cols.build();
  if (!hasInvocations) {
    // Without the client's view, every record is one invocation that reached the function.
    for (let i = 0; i < records.length; i++) {
      const run = runs[records.run[i] ?? 0];
      if (run !== undefined) {
        run.invocations++;
        run.reached++;
      }
    }
  }
  // A run known only from the journal with neither invocations nor records carries no data.
  const live = runs.filter((r) => r.invocations > 0);
  if (live.length !== runs.length) {
    const remap = new Int32Array(runs.length).fill(-1);
    live.forEach((r, j) => {
      const i = runIndex.get(r.runId);
      if (i !== undefined) remap[i] = j;
    });
    for (let i = 0; i < records.length; i++) records.run[i] = remap[records.run[i] ?? 0] ?? -1;
  }
  return {
    dir,
    manifest,
    runs: live,
    records,
    skipped,
    hasInvocations,
    excluded: [...excluded.values()],
    outcomes: journal.outcomes(live),
  };
}

/** What the journal says about runs and cells, gathered line by line. */
class JournalFacts {
  private readonly last = new Map<string, { phase: string; error?: string }>();
  private readonly runCell = new Map<string, string>();
  private readonly harvested = new Set<string>();
  private readonly discarded = new Map<string, { cellId: string; reason: string }>();

  add(cellId: string, phase: string, runId: unknown, detail: unknown): void {
    const error =
      isObject(detail) && typeof detail.error === "string" ? detail.error : "no error recorded";
    if (movesCellState(phase, this.last.get(cellId)?.phase)) {
      this.last.set(cellId, phase === "failed" ? { phase, error } : { phase });
    }
    if (typeof runId === "string" && runId !== "") {
      this.runCell.set(runId, cellId);
      if (phase === "harvested") this.harvested.add(runId);
    }
    if (phase === "failed" && isObject(detail) && Array.isArray(detail.discarded_run_ids)) {
      for (const id of detail.discarded_run_ids) {
        if (typeof id === "string") this.discarded.set(id, { cellId, reason: error });
      }
    }
  }

  private status(cellId: string): CellOutcome["status"] | undefined {
    const phase = this.last.get(cellId)?.phase;
    if (phase === undefined) return undefined;
    return phase === "done" ? "done" : phase === "failed" ? "failed" : "unfinished";
  }

  /**
   * Runs to leave out: those --resume discarded, and those of a cell that did not end `done`
   * whose records were never harvested (their invocations are real but their records were never
   * collected, so they would only show as missing). Runs of `done` cells are always kept: older
   * journals and fixtures have no `harvested` lines.
   */
  excludedRuns(trialOf: (runId: string) => number): Map<string, ExcludedRun> {
    const out = new Map<string, ExcludedRun>();
    for (const [runId, d] of this.discarded) {
      out.set(runId, {
        runId,
        cellId: d.cellId,
        trial: trialOf(runId),
        kind: "discarded",
        reason: d.reason,
        invocations: 0,
        records: 0,
      });
    }
    for (const [runId, cellId] of this.runCell) {
      if (out.has(runId) || this.harvested.has(runId)) continue;
      const status = this.status(cellId);
      if (status === undefined || status === "done") continue;
      out.set(runId, {
        runId,
        cellId,
        trial: trialOf(runId),
        kind: "not-harvested",
        reason:
          status === "failed"
            ? `cell failed: ${this.last.get(cellId)?.error ?? "no error recorded"}`
            : "cell unfinished (run interrupted and not resumed)",
        invocations: 0,
        records: 0,
      });
    }
    return out;
  }

  outcomes(kept: readonly RunInfo[]): Map<string, CellOutcome> {
    const out = new Map<string, CellOutcome>();
    for (const [cellId, last] of this.last) {
      const status = this.status(cellId) ?? "unfinished";
      out.set(cellId, {
        status,
        ...(status === "failed" && last.error !== undefined ? { error: last.error } : {}),
        keptRuns: kept.filter((r) => r.cellId === cellId).length,
      });
    }
    return out;
  }
}
