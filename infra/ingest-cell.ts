/**
 * One cell of the experiment as Pulumi infrastructure: the bucket the function writes to, the
 * function's role, its log group and the function itself. Used by `index.ts` (`pulumi up`, one
 * manual cell) and by the Automation API loop (one ephemeral stack per cell) alike.
 */
import { existsSync } from "node:fs";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  type Architecture,
  type Cell,
  type CellSettings,
  cellEnvironment,
  cellId,
  functionTimeoutSeconds,
  reservedConcurrencySetting,
  type Workload,
} from "../core/cell";
import { DEFAULT_REGION } from "../core/constants";
import { InvalidInputError, isInvalidInputError } from "../core/errors";
import { CELL_LOG_FORMAT } from "../core/lambda-logs";
import { functionName, logGroupName } from "../core/names";
import { HANDLER_BUNDLE, HANDLER_EXPORT } from "../core/paths";
import { type CellField, parseCellInputs } from "./cell-config";
import { functionPolicy, lambdaTrustPolicy, tlsOnlyBucketPolicy } from "./policies";

/** The Pulumi type token of {@link IngestCell}. */
export const INGEST_CELL_TYPE = "s3ingest:experiment:IngestCell";

/** Value of the `experiment` tag on every taggable resource of a cell. */
export const EXPERIMENT_TAG = "s3-ingestion-experiment";

/**
 * Days the function's log group keeps its events: harvesting happens within minutes, and the
 * group outlives the stack (retained on destroy) so `--reharvest` can read it for a week.
 */
export const LOG_RETENTION_DAYS = 7;

/** Days after which S3 aborts a multipart upload that was never completed (and stops billing it). */
export const ABORT_INCOMPLETE_MULTIPART_DAYS = 1;

/** The Lambda runtime of every cell. */
export const NODE_RUNTIME = "nodejs22.x";

/**
 * Longest component name: the bucket is auto-named `<name>-bucket-<7 random>` and S3 allows
 * 63 characters.
 */
export const MAX_CELL_NAME_LENGTH = 63 - "-bucket-".length - 7;

const ARGS_LABEL = "IngestCellArgs.";

const CELL_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** The inputs of one {@link IngestCell}: a cell and its run-wide settings, as plain values. */
export interface IngestCellArgs {
  readonly workload: Workload;
  /** Lambda memory, MB (128–10240). */
  readonly memoryMb: number;
  /** Events per object; required for the events workload, absent for batch. */
  readonly batchEvents?: number;
  /** Multipart part size, MiB (5–5120); required for the batch workload, absent for events. */
  readonly multipartMb?: number;
  /** 0 = unreserved (no reserved concurrency set at all); otherwise reserved. */
  readonly reservedConcurrency: number;
  /** Object size of the batch workload, MiB (default 100). */
  readonly objectMb?: number;
  /** Bytes per generated event of the events workload (default 1024). */
  readonly eventBytes?: number;
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

/** The tags every taggable resource of a cell carries, so a leaked resource is findable. */
export function cellTags(cell: Cell): Record<string, string> {
  return { experiment: EXPERIMENT_TAG, workload: cell.workload, cell: cellId(cell) };
}

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

interface ValidatedCell {
  readonly cell: Cell;
  readonly settings: Omit<CellSettings, "region">;
  readonly bundlePath: string;
  readonly fnName: string;
}

function validateCell(name: string, args: IngestCellArgs): ValidatedCell {
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

/**
 * One experiment cell: an S3 bucket (private, encrypted, TLS only, incomplete multipart
 * uploads aborted after a day, destroyed with its objects), a least-privilege role, the log
 * group `/aws/lambda/<function>` and the function, which logs JSON into that group.
 *
 * The function depends on the bucket's configuration, the role's policy and the log group, so
 * once `functionName` resolves the whole cell exists and may be invoked.
 */
export class IngestCell extends pulumi.ComponentResource {
  /** The Lambda function's name (docs/architecture.md "Names"). */
  readonly functionName: pulumi.Output<string>;
  /** The Lambda function's ARN. */
  readonly functionArn: pulumi.Output<string>;
  /** The bucket the function writes to (`OUTPUT_BUCKET`). */
  readonly bucketName: pulumi.Output<string>;
  /** The function's log group, where its EMF lines land. */
  readonly logGroupName: pulumi.Output<string>;

  /**
   * @param name lowercase letters, digits and '-', at most {@link MAX_CELL_NAME_LENGTH}
   *   characters: it names the bucket. `cellId(cell)` fits.
   * @throws InvalidInputError for a bad name, bad args or a missing handler bundle.
   */
  constructor(name: string, args: IngestCellArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad cell must not leave a half-registered component.
    const { cell, settings, bundlePath, fnName } = validateCell(name, args);
    super(INGEST_CELL_TYPE, name, {}, opts);
    const tags = cellTags(cell);
    const parent = { parent: this };

    const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: true, tags }, parent);
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      parent,
    );
    // S3 rejects concurrent changes of a bucket's policy and its public access block.
    const bucketPolicy = new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))),
      },
      { parent: this, dependsOn: [publicAccessBlock] },
    );
    const lifecycle = new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            // An explicit empty prefix: the whole bucket (a rule without filter is deprecated).
            filter: { prefix: "" },
            abortIncompleteMultipartUpload: {
              daysAfterInitiation: ABORT_INCOMPLETE_MULTIPART_DAYS,
            },
          },
        ],
      },
      parent,
    );

    // The log group outlives the stack: `destroy` leaves it (with its retention) so that
    // `--reharvest` can still read a cell's records after the cell is gone. Its name carries
    // the run's tag and the cell's deploy attempt, so a retained group never collides with a
    // later run's, nor with a redeploy of the same cell by `--resume`.
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: logGroupName(fnName), retentionInDays: LOG_RETENTION_DAYS, tags },
      { parent: this, retainOnDelete: true },
    );
    const role = new aws.iam.Role(
      `${name}-role`,
      { assumeRolePolicy: JSON.stringify(lambdaTrustPolicy()), tags },
      parent,
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([bucket.arn, logGroup.arn])
          .apply(([bucketArn, logGroupArn]) =>
            JSON.stringify(functionPolicy(bucketArn, logGroupArn)),
          ),
      },
      parent,
    );

    // cellEnvironment ignores the region (Lambda sets AWS_REGION itself); the type wants one.
    const envSettings: CellSettings = { ...settings, region: DEFAULT_REGION };
    const fn = new aws.lambda.Function(
      `${name}-fn`,
      {
        name: fnName,
        role: role.arn,
        runtime: NODE_RUNTIME,
        handler: `handler.${HANDLER_EXPORT}`,
        code: new pulumi.asset.AssetArchive({
          "handler.js": new pulumi.asset.FileAsset(bundlePath),
        }),
        memorySize: cell.memoryMb,
        timeout: functionTimeoutSeconds(cell),
        architectures: [settings.architecture],
        environment: {
          variables: bucket.bucket.apply((bucketName) =>
            cellEnvironment(cell, envSettings, bucketName),
          ),
        },
        loggingConfig: { logFormat: CELL_LOG_FORMAT, logGroup: logGroup.name },
        // undefined for level 0: no reserved concurrency at all (a literal 0 would throttle all).
        reservedConcurrentExecutions: reservedConcurrencySetting(cell),
        tags,
      },
      {
        parent: this,
        dependsOn: [logGroup, rolePolicy, publicAccessBlock, encryption, bucketPolicy, lifecycle],
      },
    );

    this.functionName = fn.name;
    this.functionArn = fn.arn;
    this.bucketName = bucket.bucket;
    this.logGroupName = logGroup.name;
    this.registerOutputs({
      functionName: this.functionName,
      functionArn: this.functionArn,
      bucketName: this.bucketName,
      logGroupName: this.logGroupName,
    });
  }
}
