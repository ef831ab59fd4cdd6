import {
  type ARCHITECTURES,
  DEFAULT_REGION,
  EVENT_BYTES,
  FUNCTION_TIMEOUT_SECONDS,
  OBJECT_MB,
  type WORKLOADS,
} from "./constants";

/** A workload of the experiment. */
export type Workload = (typeof WORKLOADS)[number];

/** A Lambda CPU architecture. */
export type Architecture = (typeof ARCHITECTURES)[number];

/** One cell of the events grid: memory × events per object × reserved concurrency. */
export interface EventsCell {
  readonly workload: "events";
  readonly memoryMb: number;
  readonly batchEvents: number;
  /** 0 means unreserved (account pool); never deployed as a literal 0. */
  readonly reservedConcurrency: number;
}

/** One cell of the batch grid: memory × multipart part size × reserved concurrency. */
export interface BatchCell {
  readonly workload: "batch";
  readonly memoryMb: number;
  readonly multipartMb: number;
  /** 0 means unreserved (account pool); never deployed as a literal 0. */
  readonly reservedConcurrency: number;
}

/** One cell of the factorial grid. */
export type Cell = EventsCell | BatchCell;

/** Run-wide settings that are not factors but shape every cell. */
export interface CellSettings {
  /** Bytes per generated event (events workload). */
  readonly eventBytes: number;
  /** Object size in MiB (batch workload). */
  readonly objectMb: number;
  readonly architecture: Architecture;
  /** Prefix of every function name (`NAME_PREFIX`). */
  readonly namePrefix: string;
  /**
   * The run's tag, appended to every function name so names are unique per run
   * (core/names.ts `newRunTag`); absent or "" for runs made before tags and the dev stack.
   */
  readonly runTag?: string;
  readonly region: string;
}

/** Settings used when none are given. */
export const DEFAULT_CELL_SETTINGS: CellSettings = {
  eventBytes: EVENT_BYTES.default,
  objectMb: OBJECT_MB.default,
  architecture: "arm64",
  namePrefix: "",
  region: DEFAULT_REGION,
};

/** The size factor of a cell: events per object, or multipart part size in MiB. */
export function sizeFactor(cell: Cell): number {
  return cell.workload === "events" ? cell.batchEvents : cell.multipartMb;
}

/** The size factor as it appears in names: `b10` or `p32mb`. */
export function sizeFactorLabel(cell: Cell): string {
  return cell.workload === "events" ? `b${cell.batchEvents}` : `p${cell.multipartMb}mb`;
}

/** A short, stable identifier of a cell, e.g. `events-512mb-b10-rc0`. */
export function cellId(cell: Cell): string {
  return `${cell.workload}-${cell.memoryMb}mb-${sizeFactorLabel(cell)}-rc${cell.reservedConcurrency}`;
}

/**
 * The reserved concurrency to configure for a cell: `undefined` for level 0 (unreserved).
 * A literal reserved concurrency of 0 would throttle every invocation, so it is impossible here.
 */
export function reservedConcurrencySetting(cell: Cell): number | undefined {
  return cell.reservedConcurrency === 0 ? undefined : cell.reservedConcurrency;
}

/** Function timeout for a cell's workload, seconds. */
export function functionTimeoutSeconds(cell: Cell): number {
  return FUNCTION_TIMEOUT_SECONDS[cell.workload];
}

/**
 * The handler's environment for a cell: the seed's variables (`OUTPUT_BUCKET`, `WORKLOAD`,
 * `MEMORY_MB`, `BATCH_EVENTS` or `MULTIPART_MB` + `OBJECT_MB`, `RESERVED_CONCURRENCY`,
 * `EVENT_BYTES`, `NAME_PREFIX`). Only the variables of the cell's workload are set.
 */
export function cellEnvironment(
  cell: Cell,
  settings: CellSettings,
  outputBucket: string,
): Record<string, string> {
  const env: Record<string, string> = {
    OUTPUT_BUCKET: outputBucket,
    WORKLOAD: cell.workload,
    MEMORY_MB: String(cell.memoryMb),
    RESERVED_CONCURRENCY: String(cell.reservedConcurrency),
  };
  if (cell.workload === "events") {
    env.BATCH_EVENTS = String(cell.batchEvents);
    env.EVENT_BYTES = String(settings.eventBytes);
  } else {
    env.MULTIPART_MB = String(cell.multipartMb);
    env.OBJECT_MB = String(settings.objectMb);
  }
  if (settings.namePrefix !== "") env.NAME_PREFIX = settings.namePrefix;
  return env;
}
