/**
 * The inputs of an IngestCell (infra/ingest-cell.ts) and their validation: a cell's fields are
 * its args' fields, read back through the same parser as stack config (infra/cell-config.ts).
 */
import { existsSync } from "node:fs";
import type { Architecture, Cell, CellSettings, Workload } from "../core/cell";
import { InvalidInputError, isInvalidInputError } from "../core/errors";
import { functionName } from "../core/names";
import { HANDLER_BUNDLE } from "../core/paths";
import type { FactorField, SettingField } from "../core/workloads";
import { type CellField, parseCellInputs } from "./cell-config";

/**
 * Longest component name: the bucket is auto-named `<name>-bucket-<7 random>` and S3 allows
 * 63 characters.
 */
export const MAX_CELL_NAME_LENGTH = 63 - "-bucket-".length - 7;

const ARGS_LABEL = "IngestCellArgs.";

const CELL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The inputs of one IngestCell: a cell and its run-wide settings, as plain values. Besides
 * these, each workload's size factor under its cell field (core/workloads.ts `factor.field`:
 * `batchEvents` events per object, `multipartMb` part MiB 5–5120), required for the cell's
 * workload and absent for the others, and each workload's setting (`setting.field`: `eventBytes`
 * default 1024, `objectMb` default 100).
 */
interface IngestCellBaseArgs {
  readonly workload: Workload;
  /** Lambda memory, MB (128–10240). */
  readonly memoryMb: number;
  /** 0 = unreserved (no reserved concurrency set at all); otherwise reserved. */
  readonly reservedConcurrency: number;
  /** Default arm64. */
  readonly architecture?: Architecture;
  /** Prefix of the function name (`NAME_PREFIX`), default none. */
  readonly namePrefix?: string;
  /**
   * The experiment run's tag, appended to the function name so names are unique per run
   * (core/names.ts `newRunTag`); default none (the dev stack).
   */
  readonly runTag?: string;
  /**
   * The cell's deploy attempt in its run, default 1: from 2 on the function and its log group
   * get a `-{attempt}` suffix, because the log group of an earlier attempt outlives its stack
   * (core/names.ts `functionName`).
   */
  readonly deployAttempt?: number;
  /**
   * The handler bundle to deploy, default {@link HANDLER_BUNDLE} (`npm run build`). Absolute,
   * so it resolves from an Automation API work dir. Must exist when the cell is created.
   */
  readonly bundlePath?: string;
}

/** The inputs of one IngestCell (see {@link IngestCellBaseArgs}). */
export type IngestCellArgs = IngestCellBaseArgs & {
  readonly [K in FactorField | SettingField]?: number;
};

/** {@link IngestCellArgs} for a cell and its settings. */
export function ingestCellArgs(
  cell: Cell,
  settings: Omit<CellSettings, "region">,
  bundlePath?: string,
  deployAttempt?: number,
): IngestCellArgs {
  return {
    // A cell's fields are its args' fields (the size factor under its workload's field name).
    ...cell,
    objectMb: settings.objectMb,
    eventBytes: settings.eventBytes,
    architecture: settings.architecture,
    namePrefix: settings.namePrefix,
    ...(settings.runTag === undefined || settings.runTag === "" ? {} : { runTag: settings.runTag }),
    ...(bundlePath === undefined ? {} : { bundlePath }),
    ...(deployAttempt === undefined ? {} : { deployAttempt }),
  };
}

/** A cell as validated from its IngestCell name and args. */
export interface ValidatedCell {
  readonly cell: Cell;
  readonly settings: Omit<CellSettings, "region">;
  readonly bundlePath: string;
  readonly fnName: string;
}

/**
 * Validates an IngestCell's name and args (core/cell-input.ts via infra/cell-config.ts), the
 * bundle's presence and the function name.
 * @throws InvalidInputError naming the arg, its value as given and what is allowed.
 */
export function validateCell(name: string, args: IngestCellArgs): ValidatedCell {
  if (!CELL_NAME_PATTERN.test(name) || name.length > MAX_CELL_NAME_LENGTH) {
    throw new InvalidInputError(
      "IngestCell name",
      name,
      `lowercase letters, digits and '-', at most ${MAX_CELL_NAME_LENGTH} characters (it names the bucket)`,
    );
  }
  const { cell, settings } = parseCellInputs(
    (field) => (args as unknown as Record<CellField, unknown>)[field],
    (field) => `${ARGS_LABEL}${field}`,
  );
  const bundlePath = args.bundlePath ?? HANDLER_BUNDLE;
  if (!existsSync(bundlePath)) {
    throw new InvalidInputError(
      "IngestCellArgs.bundlePath",
      bundlePath,
      "an existing handler bundle: run `npm run build` first",
    );
  }
  let fnName: string;
  try {
    fnName = functionName(cell, settings.namePrefix, settings.runTag, args.deployAttempt ?? 1);
  } catch (e: unknown) {
    if (isInvalidInputError(e) && e.input === "deploy attempt") {
      throw new InvalidInputError(`${ARGS_LABEL}deployAttempt`, args.deployAttempt, e.allowed);
    }
    throw e;
  }
  return { cell, settings, bundlePath, fnName };
}
