/**
 * Reading and validating the description of one cell: from Pulumi stack config (`index.ts`,
 * keys `s3ingest:*`) or from {@link IngestCellArgs} fields. Pure (no Pulumi engine), so that
 * every message can be pinned by a unit test.
 */
import type { Cell, CellSettings } from "../core/cell";
import {
  ARCHITECTURES,
  DEFAULT_REGION,
  EVENT_BYTES,
  LAMBDA,
  MAX_BATCH_EVENTS,
  MAX_RESERVED_CONCURRENCY,
  MIB,
  OBJECT_MB,
  S3_MULTIPART,
  WORKLOADS,
} from "../core/constants";
import {
  InvalidInputError,
  isInvalidInputError,
  parseIntInRange,
  parseOneOf,
} from "../core/errors";
import { functionName } from "../core/names";
import { parseRegion } from "../core/region";

/** The Pulumi config namespace of the project (`name` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "s3ingest";

/** The fields that describe one cell, as config keys (`s3ingest:<field>`) and as args. */
export const CELL_FIELDS = [
  "workload",
  "memoryMb",
  "batchEvents",
  "multipartMb",
  "reservedConcurrency",
  "objectMb",
  "eventBytes",
  "architecture",
  "namePrefix",
  "runTag",
] as const;

/** One of {@link CELL_FIELDS}. */
export type CellField = (typeof CELL_FIELDS)[number];

/** Largest S3 object, MiB (5 TiB). */
export const MAX_OBJECT_MB = 5 * 1024 * 1024;

/** A validated cell and the settings it is deployed with, minus the region (not a cell property). */
export interface CellInputs {
  readonly cell: Cell;
  readonly settings: Omit<CellSettings, "region">;
}

/** A validated cell and its full settings, as read from stack config. */
export interface CellConfig {
  readonly cell: Cell;
  readonly settings: CellSettings;
}

/**
 * Validates the raw (string) values of one cell. `get` returns a field's raw value (undefined
 * when absent), `label` the name users know the field by (`s3ingest:memoryMb`,
 * `IngestCellArgs.memoryMb`), so every error names the input as the user wrote it.
 *
 * The factors (workload, memory, size factor, reserved concurrency) are required: a cell is
 * never guessed. Run-wide settings (object size, event size, architecture, name prefix) default
 * to the experiment's defaults. The size factor of the other workload must be absent, so a cell
 * is never ambiguous.
 *
 * @throws InvalidInputError for the first missing or invalid value.
 */
export function parseCellInputs(
  get: (field: CellField) => string | undefined,
  label: (field: CellField) => string,
): CellInputs {
  const workload = parseOneOf(label("workload"), get("workload"), WORKLOADS);
  const memoryMb = parseIntInRange(
    label("memoryMb"),
    get("memoryMb"),
    LAMBDA.minMemoryMb,
    LAMBDA.maxMemoryMb,
  );
  const reservedConcurrency = parseIntInRange(
    label("reservedConcurrency"),
    get("reservedConcurrency"),
    0,
    MAX_RESERVED_CONCURRENCY,
  );
  const otherFactor: CellField = workload === "events" ? "multipartMb" : "batchEvents";
  const factor: CellField = workload === "events" ? "batchEvents" : "multipartMb";
  if (get(otherFactor) !== undefined) {
    throw new InvalidInputError(
      label(otherFactor),
      get(otherFactor),
      `no value when ${label("workload")} is ${workload} (set ${label(factor)} instead)`,
    );
  }

  let cell: Cell;
  if (workload === "events") {
    const batchEvents = parseIntInRange(
      label("batchEvents"),
      get("batchEvents"),
      1,
      MAX_BATCH_EVENTS,
    );
    cell = { workload, memoryMb, batchEvents, reservedConcurrency };
  } else {
    const multipartMb = parseIntInRange(
      label("multipartMb"),
      get("multipartMb"),
      S3_MULTIPART.minPartBytes / MIB,
      S3_MULTIPART.maxPartBytes / MIB,
    );
    cell = { workload, memoryMb, multipartMb, reservedConcurrency };
  }

  const objectMb = optionalInt(
    get,
    label,
    "objectMb",
    OBJECT_MB.min,
    MAX_OBJECT_MB,
    OBJECT_MB.default,
  );
  if (cell.workload === "batch" && objectMb > cell.multipartMb * S3_MULTIPART.maxParts) {
    throw new InvalidInputError(
      label("objectMb"),
      get("objectMb"),
      `at most ${cell.multipartMb * S3_MULTIPART.maxParts} with ${label("multipartMb")}=${cell.multipartMb} ` +
        `(${S3_MULTIPART.maxParts} parts)`,
    );
  }
  const eventBytes = optionalInt(
    get,
    label,
    "eventBytes",
    EVENT_BYTES.min,
    EVENT_BYTES.max,
    EVENT_BYTES.default,
  );
  const rawArchitecture = get("architecture");
  const architecture =
    rawArchitecture === undefined
      ? "arm64"
      : parseOneOf(label("architecture"), rawArchitecture, ARCHITECTURES);
  const namePrefix = get("namePrefix") ?? "";
  const runTag = get("runTag") ?? "";
  try {
    // The function name is the one place prefix and tag matter: validate them there.
    functionName(cell, namePrefix, runTag);
  } catch (e: unknown) {
    if (isInvalidInputError(e) && e.input === "run tag") {
      throw new InvalidInputError(label("runTag"), runTag, e.allowed);
    }
    if (isInvalidInputError(e))
      throw new InvalidInputError(label("namePrefix"), namePrefix, e.allowed);
    throw e;
  }
  return {
    cell,
    settings: {
      eventBytes,
      objectMb,
      architecture,
      namePrefix,
      ...(runTag === "" ? {} : { runTag }),
    },
  };
}

function optionalInt(
  get: (field: CellField) => string | undefined,
  label: (field: CellField) => string,
  field: CellField,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = get(field);
  return raw === undefined ? fallback : parseIntInRange(label(field), raw, min, max);
}

/** The config key of a field: `s3ingest:<field>`. */
export function configKey(field: CellField): string {
  return `${CONFIG_NAMESPACE}:${field}`;
}

/**
 * Reads one cell from a stack's config map (`pulumi.runtime.allConfig()`: keys such as
 * `s3ingest:memoryMb`, `aws:region`, values as strings). An unknown `s3ingest:` key is an error
 * (a typo such as `s3ingest:memoryMB` would otherwise be silently ignored). The region is
 * `aws:region`, else `fallbackRegion` (the provider's own fallback, `AWS_REGION`, named
 * `fallbackInput` in errors), else the default; the one used must have a region's shape.
 *
 * @throws InvalidInputError naming the config key, its value and what is allowed.
 */
export function readCellConfig(
  config: Readonly<Record<string, string | undefined>>,
  fallbackRegion?: string,
  fallbackInput = "AWS_REGION",
): CellConfig {
  const known = new Set<string>(CELL_FIELDS.map(configKey));
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`) && !known.has(key)) {
      throw new InvalidInputError(key, value, `one of the keys ${[...known].join(", ")}`);
    }
  }
  const { cell, settings } = parseCellInputs((field) => {
    const raw = config[configKey(field)];
    return raw === "" ? undefined : raw;
  }, configKey);
  // Only the region in use is checked: a stray AWS_REGION beside aws:region does not matter.
  const configured = config["aws:region"];
  const region = configured
    ? parseRegion("aws:region", configured)
    : fallbackRegion
      ? parseRegion(fallbackInput, fallbackRegion)
      : DEFAULT_REGION;
  return { cell, settings: { ...settings, region } };
}
