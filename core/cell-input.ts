/**
 * Validated parsing of a cell from raw values, the one place a cell's factors and its workload's
 * setting are checked: the handler's environment (handlers/settings.ts), Pulumi stack config and
 * IngestCell args (infra/cell-config.ts) all read a cell through {@link parseCell}.
 */
import { type Cell, makeCell, sizeFactor } from "./cell";
import { LAMBDA, MAX_RESERVED_CONCURRENCY } from "./constants";
import { InvalidInputError, parseIntInRange } from "./errors";
import {
  type FactorField,
  type SettingField,
  WORKLOAD_SPECS,
  WORKLOADS,
  type Workload,
  workloadSpec,
} from "./workloads";

/** The fields a cell is read from (its factors). */
export type CellInputField = "workload" | "memoryMb" | "reservedConcurrency" | FactorField;

/**
 * Where raw values come from: `get` returns a field's value as given (a string from the
 * environment or config, a number from IngestCell args; undefined when absent), `label` the name
 * users know the field by (`MEMORY_MB`, `s3ingest:memoryMb`, `IngestCellArgs.memoryMb`), so every
 * error names the input as the user wrote it and the value as given.
 */
export interface CellSource<F extends string = CellInputField> {
  readonly get: (field: F) => unknown;
  readonly label: (field: F) => string;
}

/** How {@link parseCell} treats inputs that differ between entry points. */
export interface ParseCellOptions {
  /** Reserved concurrency when absent; required when undefined. */
  readonly reservedConcurrencyDefault?: number;
  /**
   * True: another workload's size factor must be absent (stack config and args, where a cell
   * is never ambiguous). False: it is ignored (the handler reads only its workload's variables).
   */
  readonly rejectOtherFactors: boolean;
}

/**
 * A whole decimal integer within [min, max]: a string as {@link parseIntInRange} reads it, or a
 * number that is already one.
 * @throws InvalidInputError naming `input` and the value as given.
 */
export function intInRange(input: string, raw: unknown, min: number, max: number): number {
  if (typeof raw === "number") {
    if (Number.isSafeInteger(raw) && raw >= min && raw <= max) return raw;
    throw new InvalidInputError(input, raw, `an integer from ${min} to ${max}`);
  }
  if (raw === undefined || typeof raw === "string") return parseIntInRange(input, raw, min, max);
  throw new InvalidInputError(input, raw, `an integer from ${min} to ${max}`);
}

/** One of the workloads. @throws InvalidInputError naming `input`. */
export function parseWorkload(input: string, raw: unknown): Workload {
  const workload = WORKLOADS.find((w) => w === raw);
  if (workload === undefined)
    throw new InvalidInputError(input, raw, `one of ${WORKLOADS.join(", ")}`);
  return workload;
}

/** Lambda memory, MB. @throws InvalidInputError naming `input`. */
export function parseMemoryMb(input: string, raw: unknown): number {
  return intInRange(input, raw, LAMBDA.minMemoryMb, LAMBDA.maxMemoryMb);
}

/**
 * Reads and validates one cell: workload, memory, reserved concurrency and the workload's size
 * factor, in that order (the first bad value is reported). A cell is never guessed: every
 * factor is required, but for reserved concurrency when a default is given.
 * @throws InvalidInputError for the first missing or invalid value.
 */
export function parseCell(source: CellSource, options: ParseCellOptions): Cell {
  const { get, label } = source;
  const workload = parseWorkload(label("workload"), get("workload"));
  const memoryMb = parseMemoryMb(label("memoryMb"), get("memoryMb"));
  const rawRc = get("reservedConcurrency");
  const reservedConcurrency =
    rawRc === undefined && options.reservedConcurrencyDefault !== undefined
      ? options.reservedConcurrencyDefault
      : intInRange(label("reservedConcurrency"), rawRc, 0, MAX_RESERVED_CONCURRENCY);
  const factor = workloadSpec(workload).factor;
  if (options.rejectOtherFactors) {
    for (const other of WORKLOADS.filter((w) => w !== workload)) {
      const field = WORKLOAD_SPECS[other].factor.field;
      if (get(field) !== undefined) {
        throw new InvalidInputError(
          label(field),
          get(field),
          `no value when ${label("workload")} is ${workload} (set ${label(factor.field)} instead)`,
        );
      }
    }
  }
  const size = intInRange(label(factor.field), get(factor.field), factor.min, factor.max);
  return makeCell(workload, memoryMb, size, reservedConcurrency);
}

/**
 * Reads the run-wide setting of `workload` (event bytes, object MiB): its default when absent,
 * else within its range and, for `cell`'s own workload, within the cap its size factor sets
 * (an object of at most 10,000 parts).
 * @throws InvalidInputError naming the setting (and the factor that caps it).
 */
export function parseWorkloadSetting(
  workload: Workload,
  cell: Cell,
  source: CellSource<SettingField | FactorField>,
): number {
  const s = workloadSpec(workload).setting;
  const raw = source.get(s.field);
  const value =
    raw === undefined ? s.default : intInRange(source.label(s.field), raw, s.min, s.max);
  if (workload !== cell.workload || s.cap === null) return value;
  const size = sizeFactor(cell);
  const cap = s.cap.of(size);
  if (value > cap) {
    const factor = workloadSpec(cell.workload).factor.field;
    throw new InvalidInputError(
      source.label(s.field),
      raw,
      `at most ${cap} with ${source.label(factor)}=${size} (${s.cap.why})`,
    );
  }
  return value;
}
