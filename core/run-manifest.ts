/**
 * `manifest.json` of a run directory: what was run, with what, where; and its one reader
 * (core/run-files.ts lists the directory's other files).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Architecture, Cell, Workload } from "./cell";
import { ARCHITECTURES } from "./constants";
import { InvalidInputError } from "./errors";
import { RUN_TAG_PATTERN } from "./names";
import { sameForAll, WORKLOADS } from "./workloads";

/** The manifest's file name in a run directory. */
export const MANIFEST_FILE = "manifest.json";

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
  /**
   * Closed loop: the client concurrency offered per workload. A number in run directories made
   * before it was per workload: {@link readManifest} gives it to every workload.
   */
  readonly concurrency: Readonly<Record<Workload, number>>;
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads and checks a run directory's `manifest.json`: the one reader for `--resume`,
 * `--cleanup` and `npm run analyze`. An unreadable file is bad input named `input` (the flag or
 * argument that gave the directory); a bad field is named by file and field.
 */
export function readManifest(dir: string, input: string): Manifest {
  const file = join(dir, MANIFEST_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e: unknown) {
    throw new InvalidInputError(
      input,
      dir,
      `a run directory with a readable JSON ${MANIFEST_FILE} (${e instanceof Error ? e.message : String(e)})`,
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
  const warmup = parsed.warmup_invocations ?? sameForAll(0);
  const count = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!isObject(warmup) || !WORKLOADS.every((w) => count(warmup[w]))) {
    throw new InvalidInputError(
      name("warmup_invocations"),
      JSON.stringify(parsed.warmup_invocations),
      `{ ${WORKLOADS.map((w) => `${w}: N`).join(", ")} } with integers N ≥ 0`,
    );
  }
  const concurrency =
    typeof parsed.concurrency === "number" ? sameForAll(parsed.concurrency) : parsed.concurrency;
  if (
    !isObject(concurrency) ||
    !WORKLOADS.every((w) => count(concurrency[w]) && (concurrency[w] as number) >= 1)
  ) {
    throw new InvalidInputError(
      name("concurrency"),
      JSON.stringify(parsed.concurrency),
      `{ ${WORKLOADS.map((w) => `${w}: N`).join(", ")} } with integers N ≥ 1, or one such N`,
    );
  }
  return { ...parsed, load, warmup_invocations: warmup, concurrency } as unknown as Manifest;
}
