import { existsSync, readFileSync } from "node:fs";
import type { Workload } from "./cell";
import { MANIFEST_FILE } from "./run-manifest";

export {
  type Backend,
  type LoadModel,
  type Manifest,
  readManifest,
} from "./run-manifest";

/**
 * The run directory (default `results/<run>/`): everything one experiment run leaves behind.
 * The loop writes the first four; `npm run analyze` reads them and writes its outputs beside.
 */
export const RUN_FILES = {
  /** What was run (core/run-manifest.ts). */
  manifest: MANIFEST_FILE,
  journal: "journal.jsonl",
  invocations: "invocations.jsonl",
  records: "records.jsonl",
  /** Stacks or local functions that may be live: the basis of `--cleanup`. */
  ledger: "ledger.jsonl",
  /** Per-cell deployer logs (Pulumi's own output). */
  logsDir: "logs",
} as const;

/** Phases a cell goes through, in order; `failed` may replace any later phase. */
export const CELL_PHASES = [
  "deploying",
  "deployed",
  "trial-start",
  "trial-done",
  "harvested",
  "destroying",
  "destroyed",
  "done",
  "failed",
] as const;

/** A phase of a cell in journal.jsonl, in the order the loop goes through them. */
export type CellPhase = (typeof CELL_PHASES)[number];

/**
 * Whether an entry moves its cell's state on, given the cell's state so far: every phase does,
 * except a `harvested` entry after the cell ended (`--reharvest` adds those): it adds records,
 * it does not reopen a done or failed cell.
 */
export function movesCellState(phase: string, previous: string | undefined): boolean {
  return !(phase === "harvested" && (previous === "done" || previous === "failed"));
}

/** One line of `journal.jsonl` (append-only, fsync'd; the basis of `--resume`). */
export interface JournalEntry {
  readonly ts: string;
  readonly cell_id: string;
  readonly phase: CellPhase;
  readonly run_id?: string;
  readonly trial?: number;
  /** Free-form detail: error message, harvest source and counts, endpoints. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The Lambda REPORT line's numbers, when the invocation's log tail carried it. */
export interface ReportLine {
  readonly duration_ms: number;
  readonly billed_duration_ms: number;
  readonly memory_size_mb: number;
  readonly max_memory_used_mb: number;
  readonly init_duration_ms?: number;
}

/** One line of `invocations.jsonl`: the client's view of one invocation. */
export interface InvocationRecord {
  readonly run_id: string;
  readonly cell_id: string;
  readonly function_name: string;
  readonly workload: Workload;
  readonly trial: number;
  /**
   * True for the invocations of a cell's warm-up run (trial 0), which give every concurrency
   * slot an execution environment before the measured trials; excluded from warm statistics.
   * Absent on measured trials.
   */
  readonly warmup?: boolean;
  /** Open loop only: the planned send time (epoch ms) of this Poisson arrival. */
  readonly scheduled_ms?: number;
  /** 0-based index of the invocation within its run. */
  readonly seq: number;
  readonly request_id?: string;
  readonly client_start_ms: number;
  readonly client_end_ms: number;
  /** HTTP status of the Invoke call (0 when no response arrived). */
  readonly status_code: number;
  /** True for HTTP 429 TooManyRequestsException: an outcome, never retried. */
  readonly throttled: boolean;
  readonly throttle_reason?: string;
  readonly retry_after_s?: number;
  /** `X-Amz-Function-Error` (e.g. `Unhandled`) when the function failed. */
  readonly function_error?: string;
  /** Client-side error (network, timeout, unexpected status) when there was one. */
  readonly error?: string;
  /** The REPORT line parsed from the Tail log. */
  readonly report?: ReportLine;
  /** The EMF line found in the Tail log, verbatim: the harvester's last fallback. */
  readonly tail_emf_line?: string;
  /**
   * Local backend only (the runtime's `x-amz-local-cpu` response header; Lambda sends none):
   * CPU time the execution environment used during the invocation, ms.
   */
  readonly local_cpu_ms?: number;
  /** Local only: `local_cpu_ms` / (duration × memory/1,769 of a core); ≈ 1 when the quota bound. */
  readonly local_cpu_quota_share?: number;
  /** Local only: busy share (0–1) of all the host's cores around the invocation. */
  readonly host_busy_share?: number;
  /** Local only: the host was saturated (busy share ≥ 0.9): the measurement is the machine's. */
  readonly host_saturated?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * An invocations.jsonl line read back: the fields every reader relies on (run, cell, throttle
 * flag, status; REPORT data an object when present), else null. The one shape check of that
 * file (the analysis and `--reharvest` both read it).
 */
export function asInvocationRecord(v: unknown): InvocationRecord | null {
  if (!isObject(v)) return null;
  if (typeof v.run_id !== "string" || typeof v.cell_id !== "string") return null;
  if (typeof v.throttled !== "boolean" || typeof v.status_code !== "number") return null;
  if (v.report !== undefined && !isObject(v.report)) return null;
  return v as unknown as InvocationRecord;
}

/** True for a journal line that is an entry: a time, a cell id and a known phase. */
export function isJournalEntry(v: unknown): v is JournalEntry {
  return (
    isObject(v) &&
    typeof v.ts === "string" &&
    typeof v.cell_id === "string" &&
    (CELL_PHASES as readonly unknown[]).includes(v.phase) &&
    (v.run_id === undefined || typeof v.run_id === "string") &&
    (v.trial === undefined || typeof v.trial === "number") &&
    (v.detail === undefined || isObject(v.detail))
  );
}

/**
 * The one reader of journal.jsonl (the loop's `--resume`, `--cleanup`, `--reharvest` and the
 * analysis all use it): the valid entries in order, and how many lines were not entries (a torn
 * last line from a killed process, or anything else).
 */
export function readJournalFile(file: string): { entries: JournalEntry[]; malformed: number } {
  if (!existsSync(file)) return { entries: [], malformed: 0 };
  const entries: JournalEntry[] = [];
  let malformed = 0;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      malformed++;
      continue;
    }
    if (isJournalEntry(v)) entries.push(v);
    else malformed++;
  }
  return { entries, malformed };
}
