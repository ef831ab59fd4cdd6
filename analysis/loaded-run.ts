/**
 * What analysis reads from a run directory (the output of load-run.ts), and the run table the
 * loaders (journal-facts.ts, load-invocations.ts, load-run.ts) fill in.
 */
import type { Cell } from "../core/cell";
import type { Manifest } from "../core/run-files";

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

/** A run seen for the first time: no cell, trial or counts yet. */
export function newRun(runId: string): RunInfo {
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

/** No line skipped yet. */
export function noSkippedLines(): SkippedLines {
  return {
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
}

/** Counts one out-of-bounds line under its `file: reason`. */
export function countOutOfBounds(skipped: SkippedLines, reason: string): void {
  skipped.outOfBoundsReasons[reason] = (skipped.outOfBoundsReasons[reason] ?? 0) + 1;
}

/** The runs being loaded, in first-seen order, with their cells from the manifest. */
export class RunTable {
  readonly runs: RunInfo[] = [];
  readonly index = new Map<string, number>();
  private readonly manifestCells: ReadonlyMap<string, Manifest["cells"][number]>;

  constructor(manifest: Manifest) {
    this.manifestCells = new Map(manifest.cells.map((c) => [c.cell_id, c]));
  }

  /** The index of a run, added when first seen. */
  of(runId: string): number {
    let i = this.index.get(runId);
    if (i === undefined) {
      i = this.runs.length;
      this.runs.push(newRun(runId));
      this.index.set(runId, i);
    }
    return i;
  }

  /** Sets a run's cell id (and cell and function name from the manifest) unless it has one. */
  assignCell(run: RunInfo, id: string): void {
    if (run.cellId !== "") return;
    const mc = this.manifestCells.get(id);
    run.cellId = id;
    if (mc !== undefined) {
      run.cell = mc.cell;
      run.functionName = mc.function_name;
    }
  }
}
