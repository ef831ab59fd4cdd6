/**
 * `manifest.json`: what a run is (matrix, flags, order seed, versions, backend, local
 * fidelity). Written once before the first cell; `--resume` takes its flags from it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Cell, cellId } from "../core/cell";
import { functionName } from "../core/names";
import { PROJECT_ROOT } from "../core/paths";
import { type Manifest, RUN_FILES } from "../core/run-files";
import type { RunOptions } from "./cli-args";

/** Versions that shape the measurements: the tool, Node.js and the SDKs and Pulumi packages. */
export function toolVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node };
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
    version?: string;
    dependencies?: Record<string, string>;
  };
  versions["s3-ingestion-experiment"] = pkg.version ?? "unknown";
  for (const [name, version] of Object.entries(pkg.dependencies ?? {})) {
    if (name.startsWith("@aws-sdk/") || name.startsWith("@pulumi/")) versions[name] = version;
  }
  return versions;
}

/** What the local backend could and could not reproduce, for the manifest. */
export interface LocalFidelity {
  readonly cpu_scaling_emulated: boolean;
  readonly account_concurrency: number;
  /** Lambda's network to S3 as emulated: ceiling per environment (null: none) and latency. */
  readonly network?: { readonly mbps: number | null; readonly s3_latency_ms: number };
  readonly notes: readonly string[];
}

/** Builds the manifest of a new run. */
export function buildManifest(
  options: RunOptions,
  cells: readonly Cell[],
  order: readonly Cell[],
  local: LocalFidelity | undefined,
  now: Date = new Date(),
): Manifest {
  const versions = toolVersions();
  return {
    schema_version: 1,
    tool_version: versions["s3-ingestion-experiment"] ?? "unknown",
    created_at: now.toISOString(),
    backend: options.backend,
    region: options.settings.region,
    architecture: options.settings.architecture,
    matrix: options.matrix,
    cells: cells.map((cell) => ({
      cell_id: cellId(cell),
      cell,
      // The first deploy attempt's name (see ManifestCell.function_name).
      function_name: functionName(cell, options.settings.namePrefix, options.settings.runTag),
    })),
    order_seed: options.seed,
    cell_order: order.map(cellId),
    invocations: options.invocations,
    trials: options.trials,
    concurrency: options.concurrency,
    parallel: options.parallel,
    object_mb: options.settings.objectMb,
    event_bytes: options.settings.eventBytes,
    name_prefix: options.settings.namePrefix,
    ...(options.settings.runTag === undefined || options.settings.runTag === ""
      ? {}
      : { run_tag: options.settings.runTag }),
    versions,
    load: options.load,
    warmup_invocations: options.warmup,
    ...(local === undefined ? {} : { local }),
  };
}

/** Writes the manifest into a run directory. */
export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileSync(join(dir, RUN_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
}
