/**
 * Where a local run keeps the local S3 server's data. In memory (a tmpfs, `/dev/shm`) when it
 * has room: S3's own storage is not a Lambda function's cost beyond the emulated per-request
 * latency, and this machine's disk made whole batch cells slower by up to 22 % from one run to
 * the next (two runs each, seeds 1 and 2: 21 of 27 batch cells' warm p95 within ±15 % with the
 * data on disk, 27 of 27 in memory; README "S3 data in memory"). On disk, under the run
 * directory, otherwise. The Lambda log store stays in the
 * run directory either way (`--reharvest` reads it).
 */

import { createHash } from "node:crypto";
import { existsSync, rmSync, statfsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Workload } from "../core/cell";
import { type Cell, cellOutput, type WorkloadSettings } from "../core/cell";
import { MIB } from "../core/constants";
import { InvalidInputError } from "../core/errors";

/** The tmpfs a run's S3 data goes to when it has room. */
export const MEMORY_ROOT = "/dev/shm";

/** Linux's TMPFS_MAGIC (statfs f_type). */
const TMPFS_MAGIC = 0x01021994;

/** Room kept free on the tmpfs beyond a run's peak, bytes. */
const MARGIN_BYTES = 512 * MIB;

/** What a run holds in S3 at most: the load that decides where its data goes. */
export interface S3Load {
  readonly cells: readonly Cell[];
  readonly settings: WorkloadSettings;
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly warmup: Readonly<Record<Workload, number>>;
  readonly trials: number;
  readonly parallel: number;
}

/**
 * The most bytes a run holds in the local S3 server at once: every object of a cell stays until
 * the cell is destroyed, and `parallel` cells are live at once.
 */
export function peakS3Bytes(load: S3Load): number {
  let perCell = 0;
  for (const cell of load.cells) {
    const w = cell.workload;
    const objects = load.warmup[w] + load.invocations[w] * load.trials;
    perCell = Math.max(perCell, cellOutput(cell, load.settings).objectBytes * objects);
  }
  return perCell * Math.min(load.parallel, load.cells.length);
}

/** Where a run's S3 data lives, and the manifest's note saying so. */
export interface S3Storage {
  readonly dir: string;
  readonly inMemory: boolean;
  readonly note: string;
}

/**
 * A run's S3 data directory in memory: named by the run directory's name and a hash of its
 * absolute path, so two run directories of one name never share it.
 */
export function memoryDirOf(runDir: string, memoryRoot = MEMORY_ROOT): string {
  const abs = resolve(runDir);
  const hash = createHash("sha256").update(abs).digest("hex").slice(0, 8);
  return join(memoryRoot, `s3-ingestion-experiment-${basename(abs)}-${hash}`);
}

/** Free bytes of a tmpfs at `path`, or undefined when it is missing or not a tmpfs. */
function tmpfsFree(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return s.type === TMPFS_MAGIC ? s.bavail * s.bsize : undefined;
  } catch {
    return undefined;
  }
}

/** What a run asks of its S3 storage: its peak (undefined: only where it already is), the mode. */
export interface S3StorageRequest {
  readonly peakBytes?: number;
  /** `--local-s3-storage`; default auto. */
  readonly mode?: "auto" | "memory" | "disk";
}

/**
 * Chooses where a run's S3 data lives: where an earlier attempt of the run (before `--resume`
 * or `--cleanup`) left it; else as `mode` says: memory, disk, or (auto) in memory when the tmpfs
 * has room for the peak, else on disk under `<runDir>/.local/s3`. `--local-s3-storage memory`
 * without a tmpfs is bad input.
 */
export function chooseS3Storage(
  runDir: string,
  request: S3StorageRequest,
  memoryRoot = MEMORY_ROOT,
): S3Storage {
  const { peakBytes, mode = "auto" } = request;
  const memory = memoryDirOf(runDir, memoryRoot);
  const disk = join(runDir, ".local", "s3");
  const inMemory: S3Storage = {
    dir: memory,
    inMemory: true,
    note: `S3 is the embedded local server, its data in memory (${memoryRoot}, a tmpfs): this machine's disk is not part of the figures`,
  };
  if (existsSync(memory)) return inMemory;
  const onDisk = (why: string): S3Storage => ({
    dir: disk,
    inMemory: false,
    note: `S3 is the embedded local server on this machine's disk (${why}): the disk's speed is part of batch figures`,
  });
  if (existsSync(disk)) return onDisk("where this run began");
  if (mode === "disk") return onDisk("--local-s3-storage disk");
  const free = tmpfsFree(memoryRoot);
  if (mode === "memory") {
    if (free === undefined) {
      throw new InvalidInputError(
        "--local-s3-storage",
        mode,
        `auto or disk (no tmpfs at ${memoryRoot})`,
      );
    }
    return inMemory;
  }
  if (peakBytes === undefined) return onDisk("no earlier data in memory");
  if (free === undefined) return onDisk(`no tmpfs at ${memoryRoot}`);
  const need = peakBytes + MARGIN_BYTES;
  if (free < need) {
    return onDisk(
      `${memoryRoot} has ${Math.floor(free / MIB)} MiB free, the run needs ${Math.ceil(need / MIB)} MiB`,
    );
  }
  return inMemory;
}

/** Removes a run's S3 data from memory once its backend has stopped (nothing is live then). */
export function releaseS3Storage(storage: S3Storage): void {
  if (storage.inMemory) rmSync(storage.dir, { recursive: true, force: true });
}
