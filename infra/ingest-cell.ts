/**
 * One cell of the experiment as Pulumi infrastructure: the bucket the function writes to, the
 * function's role, its log group and the function itself. Used by `index.ts` (`pulumi up`, one
 * manual cell) and by the Automation API loop (one ephemeral stack per cell) alike.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  type Cell,
  type CellSettings,
  cellEnvironment,
  cellId,
  functionTimeoutSeconds,
  reservedConcurrencySetting,
} from "../core/cell";
import { DEFAULT_REGION } from "../core/constants";
import { CELL_LOG_FORMAT } from "../core/lambda-logs";
import { logGroupName } from "../core/names";
import { HANDLER_EXPORT } from "../core/paths";
import { type IngestCellArgs, validateCell } from "./ingest-cell-args";
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

/** The tags every taggable resource of a cell carries, so a leaked resource is findable. */
export function cellTags(cell: Cell): Record<string, string> {
  return { experiment: EXPERIMENT_TAG, workload: cell.workload, cell: cellId(cell) };
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
