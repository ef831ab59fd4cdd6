import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Architecture, Cell, Workload } from "./cell";
import { ARCHITECTURES } from "./constants";
import { InvalidInputError } from "./errors";
import { RUN_TAG_PATTERN } from "./names";
import { WORKLOADS } from "./workloads";

/**
 * The run directory (default `results/<run>/`): everything one experiment run leaves behind.
 * The loop writes the first four; `npm run analyze` reads them and writes its outputs beside.
 */
export const RUN_FILES = {
  manifest: "manifest.json",
  journal: "journal.jsonl",
  invocations: "invocations.jsonl",
  records: "records.jsonl",
  /** Stacks or local functions that may be live: the basis of `--cleanup`. */
  ledger: "ledger.jsonl",
  /** Per-cell deployer logs (Pulumi's own output). */
  logsDir: "logs",
} as const;

/** Which backend ran the experiment. */
export type Backend = "local" | "aws";

/** One cell as recorded in the manifest. */
export interface ManifestCell {
  readonly cell_id: string;
  readonly cell: Cell;
  /**
   * The function name of the cell's first deploy attempt. A redeploy by `--resume` has its own
   * name (`-2`, `-3`…, core/names.ts `functionName`): each attempt's `deployed` journal entry
   * records the names it used (`function_name`, `log_group`), and those are what the reharvest
   * and the analysis read.
   */
  readonly function_name: string;
}

/**
 * How the load generator offered invocations. `closed` (the seed's): `concurrency` slots, each
 * sending its next invocation as soon as the previous one returns, `invocations` per trial, so a
 * throttled call (≈ 20 ms) frees its slot at once and the throttle rate depends on the
 * invocation budget. `open`: Poisson arrivals at `arrival_rate_per_s` for `duration_s` seconds
 * per trial, each sent at its scheduled time whatever is in flight.
 */
export type LoadModel =
  | { readonly model: "closed" }
  | { readonly model: "open"; readonly arrival_rate_per_s: number; readonly duration_s: number };

/** `manifest.json`: what was run, with what, where. */
export interface Manifest {
  readonly schema_version: 1;
  readonly tool_version: string;
  readonly created_at: string;
  readonly backend: Backend;
  readonly region: string;
  readonly architecture: Architecture;
  readonly matrix: string;
  readonly cells: readonly ManifestCell[];
  /** Seed of the randomised cell order, and the order it produced (cell ids). */
  readonly order_seed: number;
  readonly cell_order: readonly string[];
  /**
   * Invocations per trial. Closed loop: the budget each trial sends. Open loop: the expected
   * count arrival rate × duration, rounded (the Poisson draw of each trial differs).
   */
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly trials: number;
  readonly concurrency: number;
  readonly parallel: number;
  readonly object_mb: number;
  readonly event_bytes: number;
  readonly name_prefix: string;
  /**
   * The tag appended to every function name of the run (core/names.ts `newRunTag`); absent in
   * run directories made before tags, whose names have none.
   */
  readonly run_tag?: string;
  readonly versions: Readonly<Record<string, string>>;
  /**
   * The load model. Absent in run directories written before the open loop existed:
   * {@link readManifest} fills in `{ model: "closed" }`, which is what they ran.
   */
  readonly load?: LoadModel;
  /**
   * Warm-up invocations per workload run before trial 1 of each cell (trial 0, `warmup: true`
   * in invocations.jsonl); 0 when turned off. Absent in older run directories, which had no
   * warm-up: {@link readManifest} fills in 0 for both.
   */
  readonly warmup_invocations?: Readonly<Record<Workload, number>>;
  /** Local backend only: what the emulation could and could not reproduce. */
  readonly local?: {
    readonly cpu_scaling_emulated: boolean;
    readonly account_concurrency: number;
    /**
     * Lambda's network to S3 as emulated per environment: bandwidth ceiling in Mbit/s per
     * direction (null: none) and the latency added before each S3 response, ms. Absent in run
     * directories made before the emulation (they had neither).
     */
    readonly network?: { readonly mbps: number | null; readonly s3_latency_ms: number };
    readonly notes: readonly string[];
  };
}

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
 * Reads and checks a run directory's `manifest.json`: the one reader for `--resume`,
 * `--cleanup` and `npm run analyze`. An unreadable file is bad input named `input` (the flag or
 * argument that gave the directory); a bad field is named by file and field.
 */
export function readManifest(dir: string, input: string): Manifest {
  const file = join(dir, RUN_FILES.manifest);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e: unknown) {
    throw new InvalidInputError(
      input,
      dir,
      `a run directory with a readable JSON ${RUN_FILES.manifest} (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const name = (field: string): string => `${file} ${field}`;
  if (!isObject(parsed)) throw new InvalidInputError(file, parsed, "a JSON object (Manifest)");
  if (parsed.schema_version !== 1) {
    throw new InvalidInputError(name("schema_version"), parsed.schema_version, "1");
  }
  if (parsed.backend !== "local" && parsed.backend !== "aws") {
    throw new InvalidInputError(name("backend"), parsed.backend, "one of local, aws");
  }
  if (!(ARCHITECTURES as readonly unknown[]).includes(parsed.architecture)) {
    throw new InvalidInputError(
      name("architecture"),
      parsed.architecture,
      `one of ${ARCHITECTURES.join(", ")}`,
    );
  }
  if (typeof parsed.region !== "string") {
    throw new InvalidInputError(name("region"), parsed.region, "a string");
  }
  const cells = parsed.cells;
  if (
    !Array.isArray(cells) ||
    !cells.every(
      (c: unknown) =>
        isObject(c) &&
        typeof c.cell_id === "string" &&
        isObject(c.cell) &&
        (WORKLOADS as readonly unknown[]).includes(c.cell.workload),
    )
  ) {
    throw new InvalidInputError(
      name("cells"),
      "(not a list of cells)",
      "an array of {cell_id, cell, function_name}",
    );
  }
  const order = parsed.cell_order;
  if (!Array.isArray(order) || !order.every((id: unknown) => typeof id === "string")) {
    throw new InvalidInputError(
      name("cell_order"),
      "(not a list of cell ids)",
      "an array of cell ids",
    );
  }
  if (
    parsed.run_tag !== undefined &&
    (typeof parsed.run_tag !== "string" || !RUN_TAG_PATTERN.test(parsed.run_tag))
  ) {
    throw new InvalidInputError(
      name("run_tag"),
      parsed.run_tag,
      "6 lowercase letters or digits, or no run_tag (a run made before tags)",
    );
  }
  const load = parsed.load === undefined ? { model: "closed" } : parsed.load;
  if (
    !isObject(load) ||
    !(
      load.model === "closed" ||
      (load.model === "open" &&
        typeof load.arrival_rate_per_s === "number" &&
        load.arrival_rate_per_s > 0 &&
        typeof load.duration_s === "number" &&
        load.duration_s > 0)
    )
  ) {
    throw new InvalidInputError(
      name("load"),
      "(not a load model)",
      '{"model":"closed"} or {"model":"open","arrival_rate_per_s":R,"duration_s":S} with R, S > 0',
    );
  }
  const warmup = parsed.warmup_invocations ?? { events: 0, batch: 0 };
  const count = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!isObject(warmup) || !WORKLOADS.every((w) => count(warmup[w]))) {
    throw new InvalidInputError(
      name("warmup_invocations"),
      JSON.stringify(parsed.warmup_invocations),
      "{ events: N, batch: N } with integers N ≥ 0",
    );
  }
  return { ...parsed, load, warmup_invocations: warmup } as unknown as Manifest;
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
