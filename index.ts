/**
 * The Pulumi program of the `dev` stack: one experiment cell, described by the stack's config
 * (`s3ingest:*`, see Pulumi.dev.yaml). Reads and validates the config, then exports the program
 * that creates the cell; Pulumi runs it and records its result as the stack outputs
 * (`functionName`, `functionArn`, `bucketName`, `logGroupName`).
 */
import * as pulumi from "@pulumi/pulumi";
import { isInvalidInputError } from "./core/errors";
import { type CellConfig, readCellConfig } from "./infra/cell-config";
import { ingestCellProgram } from "./infra/ingest-cell-program";

function readConfig(): CellConfig {
  try {
    return readCellConfig(pulumi.runtime.allConfig(), process.env.AWS_REGION);
  } catch (e: unknown) {
    // A RunError is shown as its message alone: the user needs the key, not a stack trace.
    if (isInvalidInputError(e)) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const { cell, settings } = readConfig();

export = ingestCellProgram(cell, settings);
