import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Architecture, Cell, Workload } from "./cell";
import { ARCHITECTURES, WORKLOADS } from "./constants";
import { InvalidInputError } from "./errors";
import { RUN_TAG_PATTERN } from "./names";

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
  readonly function_name: string;
}

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
  /** Local backend only: what the emulation could and could not reproduce. */
  readonly local?: {
    readonly cpu_scaling_emulated: boolean;
    readonly account_concurrency: number;
    readonly notes: readonly string[];
  };
}

/** Phases a cell goes through, in order; `failed` may replace any later phase. */
export type CellPhase =
  | "deploying"
  | "deployed"
  | "trial-start"
  | "trial-done"
  | "harvested"
  | "destroying"
  | "destroyed"
  | "done"
  | "failed";

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
  return parsed as unknown as Manifest;
}
