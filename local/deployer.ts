import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  type Cell,
  type CellSettings,
  cellEnvironment,
  cellId,
  functionTimeoutSeconds,
  reservedConcurrencySetting,
} from "../core/cell";
import type { DeployedCell, Deployer } from "../core/deployer";
import { InvalidInputError } from "../core/errors";
import { CELL_LOG_FORMAT } from "../core/lambda-logs";
import { functionName, localBucketName, logGroupName } from "../core/names";
import { HANDLER_BUNDLE, HANDLER_EXPORT } from "../core/paths";
import type { LocalBackend } from "./backend";

/** Times destroy empties a bucket that keeps receiving late uploads before it gives up. */
const EMPTY_ROUNDS = 5;

/** Attempts per S3 call of the deployer (the SDK's standard retry with backoff). */
export const DEPLOYER_S3_ATTEMPTS = 5;

/** A failed step of a deploy or destroy, naming the cell, the phase and the operation. */
export class CellOperationError extends Error {
  override readonly name = "CellOperationError";
  constructor(
    readonly cellId: string,
    readonly phase: "deploy" | "destroy",
    readonly operation: string,
    cause: unknown,
  ) {
    super(
      `${phase} of ${cellId} failed in ${operation}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      { cause },
    );
  }
}

/** Runs one step, turning its failure into a {@link CellOperationError}. */
async function step<T>(
  cell: Cell,
  phase: "deploy" | "destroy",
  operation: string,
  f: () => Promise<T>,
): Promise<T> {
  try {
    return await f();
  } catch (e: unknown) {
    if (e instanceof CellOperationError) throw e;
    throw new CellOperationError(cellId(cell), phase, operation, e);
  }
}

/** Options of {@link LocalDeployer}. */
export interface LocalDeployerOptions {
  /** Makes bucket names unique per run; default 6 random hex characters. */
  bucketSuffix?: string;
  /** The handler bundle; default {@link HANDLER_BUNDLE} (`npm run build`). */
  bundlePath?: string;
}

/**
 * `--backend local`: a cell becomes a bucket on the local S3 server and a function on the local
 * Lambda runtime. The backend belongs to the caller: `close()` does not stop it.
 */
export class LocalDeployer implements Deployer {
  readonly backend = "local" as const;
  private readonly local: LocalBackend;
  private readonly settings: CellSettings;
  private readonly suffix: string;
  private readonly bundlePath: string;
  private readonly s3: S3Client;
  /** Functions this deployer created, by cell id: the only ones its `destroy` deletes. */
  private readonly created = new Map<string, string>();

  constructor(backend: LocalBackend, settings: CellSettings, options: LocalDeployerOptions = {}) {
    this.local = backend;
    this.settings = settings;
    this.suffix = options.bucketSuffix ?? randomBytes(3).toString("hex");
    this.bundlePath = options.bundlePath ?? HANDLER_BUNDLE;
    this.s3 = new S3Client({
      endpoint: backend.s3.endpoint,
      region: backend.s3.region,
      forcePathStyle: true,
      // A copy: the SDK annotates the credentials object it is given.
      credentials: { ...backend.s3.credentials },
      // Deploy and destroy calls are idempotent: transient errors (a reset connection, a 5xx,
      // SlowDown) are retried with the SDK's backoff instead of leaving a harvested cell live.
      maxAttempts: DEPLOYER_S3_ATTEMPTS,
    });
  }

  /** Fails fast when the handler bundle has not been built. */
  async prepare(_cells: readonly Cell[]): Promise<void> {
    if (!existsSync(this.bundlePath)) {
      throw new InvalidInputError(
        "bundlePath",
        this.bundlePath,
        "an existing bundle: run `npm run build` first",
      );
    }
  }

  /** The bucket a cell uses in this run. */
  bucketName(cell: Cell): string {
    return localBucketName(cell, this.suffix);
  }

  async deploy(cell: Cell, signal?: AbortSignal, attempt = 1): Promise<DeployedCell> {
    signal?.throwIfAborted();
    const name = functionName(cell, this.settings.namePrefix, this.settings.runTag, attempt);
    const bucket = this.bucketName(cell);
    const { s3, runtime } = this.local;
    try {
      await step(cell, "deploy", `CreateBucket ${bucket}`, () =>
        this.s3.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: signal }),
      );
    } catch (e: unknown) {
      // A retry after a lost response finds the bucket made by the first attempt.
      if (!(e instanceof CellOperationError && hasName(e.cause, "BucketAlreadyOwnedByYou"))) {
        throw e;
      }
    }
    signal?.throwIfAborted();
    // No silent replacement of a function that already has this name: as `pulumi up` on AWS
    // does, that is Lambda's ResourceConflictException. Names carry the run's tag, so only a
    // real collision (not a leaked function of another run) gets here.
    const reserved = reservedConcurrencySetting(cell);
    await runtime.createFunction({
      functionName: name,
      memoryMb: cell.memoryMb,
      timeoutSeconds: functionTimeoutSeconds(cell),
      environment: {
        ...cellEnvironment(cell, this.settings, bucket),
        S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      },
      ...(reserved === undefined ? {} : { reservedConcurrency: reserved }),
      bundlePath: this.bundlePath,
      handlerExport: HANDLER_EXPORT,
      // The same log format IngestCell deploys on AWS, so the local loop reads what AWS writes.
      logFormat: CELL_LOG_FORMAT,
    });
    this.created.set(cellId(cell), name);
    return {
      cellId: cellId(cell),
      functionName: name,
      bucket,
      logGroup: logGroupName(name),
      region: runtime.region,
      endpoints: { lambda: runtime.endpoint, s3: s3.endpoint },
      credentials: {
        accessKeyId: s3.credentials.accessKeyId,
        secretAccessKey: s3.credentials.secretAccessKey,
      },
    };
  }

  /**
   * Deletes the function if this deployer created it (as a stack's destroy deletes only what
   * its state holds: a function that made `deploy` fail with ResourceConflictException belongs
   * to someone else), aborts unfinished uploads, empties and deletes the bucket.
   */
  async destroy(cell: Cell, _signal?: AbortSignal): Promise<void> {
    const name = this.created.get(cellId(cell));
    this.created.delete(cellId(cell));
    if (name !== undefined && this.local.runtime.listFunctions().includes(name)) {
      await step(cell, "destroy", `DeleteFunction ${name}`, async () => {
        try {
          await this.local.runtime.deleteFunction(name);
        } catch (e: unknown) {
          if (!hasName(e, "ResourceNotFoundException")) throw e;
        }
      });
    }
    const bucket = this.bucketName(cell);
    // An upload the server had already received when the function's environments were ended
    // (an interrupted run) can land after the bucket was emptied: empty it again.
    for (let round = 1; ; round++) {
      try {
        await this.emptyBucket(cell, bucket);
        await step(cell, "destroy", `DeleteBucket ${bucket}`, () =>
          this.s3.send(new DeleteBucketCommand({ Bucket: bucket })),
        );
        return;
      } catch (e: unknown) {
        if (e instanceof CellOperationError && hasName(e.cause, "NoSuchBucket")) return;
        const late = e instanceof CellOperationError && hasName(e.cause, "BucketNotEmpty");
        if (!late || round >= EMPTY_ROUNDS) throw e;
        await new Promise((r) => setTimeout(r, 200 * round));
      }
    }
  }

  /** Releases the S3 client; the backend itself stays up. */
  async close(): Promise<void> {
    this.s3.destroy();
  }

  private async emptyBucket(cell: Cell, bucket: string): Promise<void> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await step(cell, "destroy", `ListMultipartUploads ${bucket}`, () =>
        this.s3.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined) continue;
        const upload = { Bucket: bucket, Key: u.Key, UploadId: u.UploadId };
        await step(cell, "destroy", `AbortMultipartUpload ${bucket}/${u.Key}`, () =>
          this.s3.send(new AbortMultipartUploadCommand(upload)),
        );
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);

    let token: string | undefined;
    do {
      const listed = { Bucket: bucket, ContinuationToken: token };
      const page = await step(cell, "destroy", `ListObjectsV2 ${bucket}`, () =>
        this.s3.send(new ListObjectsV2Command(listed)),
      );
      const keys = (page.Contents ?? []).flatMap((o) =>
        o.Key === undefined ? [] : [{ Key: o.Key }],
      );
      if (keys.length > 0) {
        await step(cell, "destroy", `DeleteObjects ${bucket}`, async () => {
          const result = await this.s3.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
          );
          const failed = result.Errors ?? [];
          if (failed.length > 0) {
            throw new Error(
              `could not delete ${failed.length} objects: ${failed[0]?.Code} ${failed[0]?.Message}`,
            );
          }
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

function hasName(e: unknown, name: string): boolean {
  return e instanceof Error && e.name === name;
}
