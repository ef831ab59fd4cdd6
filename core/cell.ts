/**
 * A cell of the factorial grid and its one home: the cell's id, its handler environment and its
 * fields in the EMF record, each way, all driven by the workload rows of core/workloads.ts.
 * Validated parsing of a cell (environment, stack config, IngestCell args) is core/cell-input.ts.
 */
import { type ARCHITECTURES, DEFAULT_REGION, EVENT_BYTES, OBJECT_MB } from "./constants";
import type { EmfRecord } from "./emf";
import {
  type FactorField,
  type SettingField,
  WORKLOAD_SPECS,
  WORKLOADS,
  type Workload,
  type WorkloadOutput,
  type WorkloadSpec,
  workloadSpec,
} from "./workloads";

export type { Workload } from "./workloads";

/** A Lambda CPU architecture. */
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * One cell of workload `W`: memory × the workload's size factor (its field named by the row,
 * e.g. `batchEvents`) × reserved concurrency.
 */
export type CellOf<W extends Workload> = {
  readonly workload: W;
  readonly memoryMb: number;
  /** 0 means unreserved (account pool); never deployed as a literal 0. */
  readonly reservedConcurrency: number;
} & { readonly [K in FactorField<W>]: number };

/** One cell of the events grid: memory × events per object × reserved concurrency. */
export type EventsCell = CellOf<"events">;

/** One cell of the batch grid: memory × multipart part size × reserved concurrency. */
export type BatchCell = CellOf<"batch">;

/** One cell of the factorial grid. */
export type Cell = { [W in Workload]: CellOf<W> }[Workload];

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

/**
 * The run-wide settings workloads read (each row's `setting`): all of them, or only the cell's
 * own (the handler's settings).
 */
export type WorkloadSettings = { readonly [K in SettingField]?: number };

/** Settings used when none are given. */
export const DEFAULT_CELL_SETTINGS: CellSettings = {
  eventBytes: EVENT_BYTES.default,
  objectMb: OBJECT_MB.default,
  architecture: "arm64",
  namePrefix: "",
  region: DEFAULT_REGION,
};

/** A function per workload of that workload's cells (a model, say), so each row has one. */
export type PerCell<R, A extends unknown[]> = {
  readonly [W in Workload]: (cell: CellOf<W>, ...args: A) => R;
};

/** Applies the function of `cell`'s workload in `table` to the cell. */
export function forCell<R, A extends unknown[]>(table: PerCell<R, A>, cell: Cell, ...args: A): R {
  return (table[cell.workload] as (cell: Cell, ...args: A) => R)(cell, ...args);
}

/** A cell of `workload` with `size` as its size factor. */
export function makeCell(
  workload: Workload,
  memoryMb: number,
  size: number,
  reservedConcurrency: number,
): Cell {
  const field = workloadSpec(workload).factor.field;
  return { workload, memoryMb, [field]: size, reservedConcurrency } as unknown as Cell;
}

/** The size factor of a cell: events per object, or multipart part size in MiB. */
export function sizeFactor(cell: Cell): number {
  const field: FactorField = workloadSpec(cell.workload).factor.field;
  return (cell as unknown as Record<FactorField, number>)[field];
}

/** The value of the run-wide setting a cell's workload reads (event bytes, object MiB). */
export function workloadSetting(cell: Cell, settings: WorkloadSettings): number {
  const field = workloadSpec(cell.workload).setting.field;
  const value = settings[field];
  if (value === undefined) throw new Error(`cell ${cellId(cell)}: no ${field} in its settings`);
  return value;
}

/** What one invocation of a cell writes, as planned (bytes, multipart parts, events). */
export function cellOutput(cell: Cell, settings: WorkloadSettings): WorkloadOutput {
  return workloadSpec(cell.workload).output(sizeFactor(cell), workloadSetting(cell, settings));
}

/** The size factor as it appears in names: `b10` or `p32mb`. */
export function sizeFactorLabel(cell: Cell): string {
  const f = workloadSpec(cell.workload).factor;
  return `${f.tag}${sizeFactor(cell)}${f.tagSuffix}`;
}

/** A short, stable identifier of a cell, e.g. `events-512mb-b10-rc0`. */
export function cellId(cell: Cell): string {
  return `${cell.workload}-${cell.memoryMb}mb-${sizeFactorLabel(cell)}-rc${cell.reservedConcurrency}`;
}

/** Recovers a cell from its id (`events-512mb-b10-rc0`); undefined for anything else. */
export function parseCellId(id: string): Cell | undefined {
  const m = /^([a-z]+)-(\d+)mb-([a-z]+)(\d+)([a-z]*)-rc(\d+)$/.exec(id);
  if (m === null) return undefined;
  const workload = WORKLOADS.find((w) => w === m[1]);
  if (workload === undefined) return undefined;
  const f = workloadSpec(workload).factor;
  if (m[3] !== f.tag || m[5] !== f.tagSuffix) return undefined;
  return makeCell(workload, Number(m[2]), Number(m[4]), Number(m[6]));
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
  return workloadSpec(cell.workload).timeoutSeconds;
}

/** The handler's environment variables of a cell's factors besides the size factor. */
export const CELL_ENV = {
  workload: "WORKLOAD",
  memoryMb: "MEMORY_MB",
  reservedConcurrency: "RESERVED_CONCURRENCY",
} as const;

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
  const spec = workloadSpec(cell.workload);
  const env: Record<string, string> = {
    OUTPUT_BUCKET: outputBucket,
    [CELL_ENV.workload]: cell.workload,
    [CELL_ENV.memoryMb]: String(cell.memoryMb),
    [CELL_ENV.reservedConcurrency]: String(cell.reservedConcurrency),
    [spec.factor.env]: String(sizeFactor(cell)),
    [spec.setting.env]: String(workloadSetting(cell, settings)),
  };
  if (settings.namePrefix !== "") env.NAME_PREFIX = settings.namePrefix;
  return env;
}

/** The fields of an EMF record that describe its cell's workload (factor and setting of each). */
export type CellRecordFields = Pick<
  EmfRecord,
  WorkloadSpec["factor"]["record"] | WorkloadSpec["setting"]["record"]
>;

/**
 * A cell's workload fields of the EMF record: its size factor and setting under their record
 * names, every other workload's 0.
 */
export function cellRecordFields(cell: Cell, settings: WorkloadSettings): CellRecordFields {
  const out: Record<string, number> = {};
  for (const w of WORKLOADS) {
    out[WORKLOAD_SPECS[w].factor.record] = 0;
    out[WORKLOAD_SPECS[w].setting.record] = 0;
  }
  // Set last: a setting two workloads share (same field) is the cell's own.
  const own = workloadSpec(cell.workload);
  out[own.factor.record] = sizeFactor(cell);
  out[own.setting.record] = workloadSetting(cell, settings);
  return out as unknown as CellRecordFields;
}

/** The cell an EMF record was written by. */
export function cellFromRecord(r: EmfRecord): Cell {
  const field = workloadSpec(r.workload).factor.record;
  return makeCell(r.workload, r.memory_mb, r[field], r.reserved_concurrency);
}
