/**
 * The Pulumi program of one cell, shared by `index.ts` (`pulumi up`) and the Automation API
 * loop (an inline program per ephemeral stack), so both deploy exactly the same IngestCell.
 */
import type * as pulumi from "@pulumi/pulumi";
import { type Cell, type CellSettings, cellId } from "../core/cell";
import { IngestCell } from "./ingest-cell";
import { ingestCellArgs } from "./ingest-cell-args";

/** The stack outputs of a cell's program. */
export interface IngestCellOutputs {
  readonly functionName: pulumi.Output<string>;
  readonly functionArn: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  readonly logGroupName: pulumi.Output<string>;
}

/** Options of {@link ingestCellProgram}. */
export interface IngestCellProgramOptions {
  /** The handler bundle, default `HANDLER_BUNDLE` (see `IngestCellArgs.bundlePath`). */
  readonly bundlePath?: string;
  /** Resource options of the component, e.g. `{ providers: [provider] }` for an explicit provider. */
  readonly resourceOptions?: pulumi.ComponentResourceOptions;
  /** The cell's deploy attempt in its run (see `IngestCellArgs.deployAttempt`), default 1. */
  readonly deployAttempt?: number;
}

/**
 * A Pulumi program that creates one {@link IngestCell} named after the cell (`cellId`) and
 * returns its outputs as stack outputs. Nothing is created until Pulumi runs the program.
 */
export function ingestCellProgram(
  cell: Cell,
  settings: Omit<CellSettings, "region">,
  options: IngestCellProgramOptions = {},
): () => Promise<IngestCellOutputs> {
  return async () => {
    const ingestCell = new IngestCell(
      cellId(cell),
      ingestCellArgs(cell, settings, options.bundlePath, options.deployAttempt),
      options.resourceOptions,
    );
    return {
      functionName: ingestCell.functionName,
      functionArn: ingestCell.functionArn,
      bucketName: ingestCell.bucketName,
      logGroupName: ingestCell.logGroupName,
    };
  };
}
