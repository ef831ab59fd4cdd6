/**
 * Reading and validating the description of one cell: from Pulumi stack config (`index.ts`,
 * keys `s3ingest:*`) or from {@link IngestCellArgs} fields. Pure (no Pulumi engine), so that
 * every message can be pinned by a unit test.
 */
import type { Cell, CellSettings } from "../core/cell";
import { type CellInputField, parseCell, parseWorkloadSetting } from "../core/cell-input";
import { ARCHITECTURES, DEFAULT_REGION } from "../core/constants";
import { InvalidInputError, isInvalidInputError, parseOneOf } from "../core/errors";
import { functionName } from "../core/names";
import { parseRegion } from "../core/region";
import { type SettingField, WORKLOAD_SPECS, WORKLOADS } from "../core/workloads";

/** The Pulumi config namespace of the project (`name` in Pulumi.yaml). */
export const CONFIG_NAMESPACE = "s3ingest";

/** The fields that describe one cell, as config keys (`s3ingest:<field>`) and as args. */
export const CELL_FIELDS: readonly CellField[] = [
  "workload",
  "memoryMb",
  ...WORKLOADS.map((w) => WORKLOAD_SPECS[w].factor.field),
  "reservedConcurrency",
  ...WORKLOADS.map((w) => WORKLOAD_SPECS[w].setting.field),
  "architecture",
  "namePrefix",
  "runTag",
];

/** One of {@link CELL_FIELDS}: a cell's factors, the workloads' settings and the run-wide ones. */
export type CellField = CellInputField | SettingField | "architecture" | "namePrefix" | "runTag";

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
 * Validates the raw values of one cell (strings from stack config, numbers from IngestCell
 * args). `get` returns a field's raw value (undefined when absent), `label` the name users know
 * the field by (`s3ingest:memoryMb`, `IngestCellArgs.memoryMb`), so every error names the input
 * as the user wrote it and the value as given.
 *
 * The factors (workload, memory, size factor, reserved concurrency) are required: a cell is
 * never guessed (core/cell-input.ts `parseCell`). Run-wide settings (object size, event size,
 * architecture, name prefix) default to the experiment's defaults. The size factor of the other
 * workload must be absent, so a cell is never ambiguous.
 *
 * @throws InvalidInputError for the first missing or invalid value.
 */
export function parseCellInputs(
  get: (field: CellField) => unknown,
  label: (field: CellField) => string,
): CellInputs {
  const cell = parseCell({ get, label }, { rejectOtherFactors: true });
  // Every workload's setting is a run-wide setting: each is checked, the cell's own also
  // against the cap its size factor sets.
  const workloadSettings = Object.fromEntries(
    WORKLOADS.map((w) => [
      WORKLOAD_SPECS[w].setting.field,
      parseWorkloadSetting(w, cell, { get, label }),
    ]),
  ) as Pick<CellSettings, "eventBytes" | "objectMb">;
  const rawArchitecture = get("architecture");
  const architecture =
    rawArchitecture === undefined
      ? "arm64"
      : parseOneOf(label("architecture"), String(rawArchitecture), ARCHITECTURES);
  const namePrefix = get("namePrefix") === undefined ? "" : String(get("namePrefix"));
  const runTag = get("runTag") === undefined ? "" : String(get("runTag"));
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
      ...workloadSettings,
      architecture,
      namePrefix,
      ...(runTag === "" ? {} : { runTag }),
    },
  };
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
