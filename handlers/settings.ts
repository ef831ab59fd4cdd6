/**
 * The handler's configuration, read from the environment (the seed's variables plus
 * `S3_ENDPOINT`) and validated before any S3 call: every bad or missing value is an
 * {@link InvalidInputError} naming the variable, its value and what is allowed.
 */
import { CELL_ENV, type Cell } from "../core/cell";
import {
  type CellInputField,
  parseCell,
  parseMemoryMb,
  parseWorkloadSetting,
} from "../core/cell-input";
import { DEFAULT_REGION, MIB } from "../core/constants";
import { InvalidInputError } from "../core/errors";
import {
  type FactorField,
  type SettingField,
  WORKLOAD_SPECS,
  WORKLOADS,
  type Workload,
  workloadSpec,
} from "../core/workloads";

/** Environment as the handler sees it (`process.env` or a test's copy). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The variable Lambda sets to the function's memory, MB (reserved: a function cannot set it). */
export const LAMBDA_MEMORY_VARIABLE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/** Settings all workloads share. */
export interface CommonSettings {
  readonly outputBucket: string;
  readonly memoryMb: number;
  /** 0 = unreserved (recorded only; the platform enforces the setting). */
  readonly reservedConcurrency: number;
  readonly namePrefix: string;
  /** An S3-compatible endpoint (path-style addressing), or undefined for AWS S3. */
  readonly s3Endpoint: string | undefined;
  readonly region: string;
}

/** Settings of a cell of workload `W`: its size factor and its setting under their cell names. */
export type CellSettingsOf<W extends Workload> = CommonSettings & {
  readonly workload: W;
} & { readonly [K in FactorField<W> | SettingField<W>]: number };

/** Settings of the events workload. */
export type EventsSettings = CellSettingsOf<"events">;

/** The derived multipart plan of the batch workload. */
export interface BatchPlan {
  readonly partBytes: number;
  readonly objectBytes: number;
  readonly partCount: number;
  /** lib-storage's `queueSize`: parts uploaded at once, each one part-sized buffer. */
  readonly partsInFlight: number;
}

/** The derived plan of each workload that has one ({@link PLANS}). */
interface Plans {
  readonly batch: BatchPlan;
}

/** Settings of workload `W`: with its derived plan where it has one. */
export type SettingsOf<W extends Workload> = CellSettingsOf<W> &
  (W extends keyof Plans ? Plans[W] : unknown);

/** Settings of the batch workload, with the derived multipart plan. */
export type BatchSettings = SettingsOf<"batch">;

/** Validated settings of one invocation. */
export type Settings = { [W in Workload]: SettingsOf<W> }[Workload];

/**
 * Memory the Node runtime, the bundled SDK and sockets need besides part buffers, MiB
 * (measured: ≈ 90 MiB RSS before the first part), with margin.
 */
export const RUNTIME_RESERVE_MIB = 128;

/**
 * Share of the remaining memory that the parts in flight may take (one reused part buffer each,
 * `handlers/part-body.ts`; lib-storage sends views of them, no copy). The rest is headroom for
 * the SDK's request buffers and garbage not yet collected: measured peak RSS at 512 MB with
 * 64 MiB parts is ≈ 263 MiB (`npm run bench:upload`).
 */
export const PART_MEMORY_SHARE = 0.5;

/** Upper bound on parts in flight: more adds sockets, not throughput, at ≈ 78 MB/s per function. */
export const MAX_PARTS_IN_FLIGHT = 8;

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const NAME_PREFIX_PATTERN = /^[A-Za-z0-9_-]*$/;

/**
 * Largest part, MiB, that fits in `memoryMb`: {@link PART_MEMORY_SHARE} of what is left after
 * {@link RUNTIME_RESERVE_MIB}. 0 when nothing fits.
 */
export function partBudgetMib(memoryMb: number): number {
  return Math.max(0, Math.floor((memoryMb - RUNTIME_RESERVE_MIB) * PART_MEMORY_SHARE));
}

/**
 * Parts in flight for a memory setting and part size: as many part buffers as fit in the
 * budget, at least 1, at most {@link MAX_PARTS_IN_FLIGHT} and never more than there are parts.
 * 64 MiB parts at 512 MB give 3 (192 MiB of buffers in flight).
 */
export function partsInFlight(memoryMb: number, multipartMb: number, partCount: number): number {
  const fit = Math.floor(partBudgetMib(memoryMb) / multipartMb);
  return Math.max(1, Math.min(fit, MAX_PARTS_IN_FLIGHT, partCount));
}

function required(env: Environment, name: string, allowed: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") throw new InvalidInputError(name, raw, allowed);
  return raw;
}

function parseEndpoint(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InvalidInputError("S3_ENDPOINT", raw, "an http:// or https:// URL");
  }
  return raw;
}

/** The environment variable of a cell's field (`MEMORY_MB`, `BATCH_EVENTS`, `OBJECT_MB`…). */
function envName(field: CellInputField | SettingField): string {
  for (const w of WORKLOADS) {
    const { factor, setting } = WORKLOAD_SPECS[w];
    if (field === factor.field) return factor.env;
    if (field === setting.field) return setting.env;
  }
  return CELL_ENV[field as keyof typeof CELL_ENV];
}

/** A variable's value, undefined when absent or empty (the optional variables' default). */
function optional(env: Environment, name: string): string | undefined {
  const raw = env[name];
  return raw === "" ? undefined : raw;
}

/**
 * Checks `MEMORY_MB` against the memory Lambda gives the function
 * ({@link LAMBDA_MEMORY_VARIABLE}): a cell whose recorded memory is not the memory it runs with
 * would be measured under the wrong factor level. Outside Lambda (tests, `invoke-local` without
 * it) the variable is absent and `MEMORY_MB` is taken as given.
 * @throws InvalidInputError naming `MEMORY_MB` on a mismatch.
 */
export function checkLambdaMemory(env: Environment, memoryMb: number): void {
  const raw = env[LAMBDA_MEMORY_VARIABLE];
  if (raw === undefined || raw === "") return;
  const actual = parseMemoryMb(LAMBDA_MEMORY_VARIABLE, raw);
  if (actual !== memoryMb) {
    throw new InvalidInputError(
      "MEMORY_MB",
      env.MEMORY_MB,
      `${actual}, the memory Lambda runs the function with (${LAMBDA_MEMORY_VARIABLE}=${raw})`,
    );
  }
}

/** Derived settings of the workloads that have any, from the cell's settings. */
const PLANS: {
  readonly [W in keyof Plans]: (s: CellSettingsOf<W>, env: Environment) => Plans[W];
} = {
  batch: batchPlan,
};

/**
 * Reads and validates the settings of one invocation. Only the variables of the configured
 * workload are read (a cell's environment carries no others): `BATCH_EVENTS` and
 * `EVENT_BYTES` for events, `MULTIPART_MB` and `OBJECT_MB` for batch. `MEMORY_MB` must be the
 * memory Lambda set ({@link checkLambdaMemory}).
 *
 * @throws InvalidInputError for any missing or invalid value, before any S3 call.
 */
export function readSettings(env: Environment): Settings {
  const cell: Cell = parseCell(
    {
      get: (field) =>
        field === "reservedConcurrency" ? optional(env, envName(field)) : env[envName(field)],
      label: envName,
    },
    { reservedConcurrencyDefault: 0, rejectOtherFactors: false },
  );
  checkLambdaMemory(env, cell.memoryMb);
  const outputBucket = required(env, "OUTPUT_BUCKET", "an S3 bucket name");
  if (!BUCKET_PATTERN.test(outputBucket)) {
    throw new InvalidInputError(
      "OUTPUT_BUCKET",
      outputBucket,
      "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    );
  }
  const namePrefix = env.NAME_PREFIX ?? "";
  if (!NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new InvalidInputError("NAME_PREFIX", namePrefix, "letters, digits, '-' and '_'");
  }
  const spec = workloadSpec(cell.workload);
  const setting = parseWorkloadSetting(cell.workload, cell, {
    get: (field) => optional(env, envName(field)),
    label: envName,
  });
  const settings = {
    ...cell,
    outputBucket,
    namePrefix,
    s3Endpoint: parseEndpoint(env.S3_ENDPOINT),
    region: env.AWS_REGION || DEFAULT_REGION,
    [spec.setting.field]: setting,
  } as unknown as CellSettingsOf<Workload>;
  const plan = (
    (PLANS as Partial<Record<Workload, unknown>>)[cell.workload] as
      | ((s: CellSettingsOf<Workload>, env: Environment) => object)
      | undefined
  )?.(settings, env);
  return { ...settings, ...plan } as Settings;
}

function batchPlan(s: CellSettingsOf<"batch">, env: Environment): BatchPlan {
  const { memoryMb, multipartMb, objectMb } = s;
  const budget = partBudgetMib(memoryMb);
  if (multipartMb > budget) {
    throw new InvalidInputError(
      "MULTIPART_MB",
      env.MULTIPART_MB,
      `a part that fits in memory: at most ${budget} with MEMORY_MB=${memoryMb} ` +
        `(${PART_MEMORY_SHARE * 100}% of memory beyond ${RUNTIME_RESERVE_MIB} MiB)`,
    );
  }
  const partCount = Math.ceil(objectMb / multipartMb);
  return {
    partBytes: multipartMb * MIB,
    objectBytes: objectMb * MIB,
    partCount,
    partsInFlight: partsInFlight(memoryMb, multipartMb, partCount),
  };
}
