/**
 * S3 writes of the two workloads: one PutObject for events, a multipart upload for batch.
 * The multipart upload follows lib-storage's `Upload` design: one shared
 * CreateMultipartUpload, a generator of parts that N workers pull from, abort on any
 * worker's error, and a part count check before CompleteMultipartUpload. Unlike `Upload`,
 * each worker owns one part buffer and refills it in place, so memory is exactly
 * N × part size however large the object.
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { Workload } from "../core/cell";
import { partPlan } from "./generators";
import { errorMessage } from "./util";

/**
 * Client timeouts, ms: a dead or silent endpoint fails well inside the function timeout
 * (60 s events, 900 s batch) even after the SDK's retries, instead of hanging until Lambda
 * kills the function without an EMF line.
 */
export const S3_TIMEOUTS = {
  /** TCP connect. */
  connectionMs: 3_000,
  /** A socket without any traffic (a large CompleteMultipartUpload may be silent a while). */
  socketIdleMs: { events: 10_000, batch: 60_000 },
  /** Whole request and response: a 64 MiB part at ≈ 78 MB/s takes ≈ 1 s. */
  requestMs: { events: 10_000, batch: 120_000 },
  /** Attempts per request (the SDK's standard retry mode). */
  maxAttempts: 3,
} as const;

/** Where and how to reach S3. */
export interface S3Target {
  /** An S3-compatible endpoint (path-style), or undefined for AWS S3. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly workload: Workload;
}

const clients = new Map<string, S3Client>();

/**
 * The S3 client for a target, created once per process and reused by warm invocations
 * (keep-alive connections survive between them). Credentials come from the SDK's default
 * chain, as on Lambda.
 */
export function s3Client(target: S3Target): S3Client {
  const id = `${target.endpoint ?? "aws"}|${target.region}|${target.workload}`;
  const cached = clients.get(id);
  if (cached !== undefined) return cached;
  const client = new S3Client({
    region: target.region,
    maxAttempts: S3_TIMEOUTS.maxAttempts,
    ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint, forcePathStyle: true }),
    requestHandler: {
      connectionTimeout: S3_TIMEOUTS.connectionMs,
      socketTimeout: S3_TIMEOUTS.socketIdleMs[target.workload],
      requestTimeout: S3_TIMEOUTS.requestMs[target.workload],
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: 50 },
      httpsAgent: { keepAlive: true, maxSockets: 50 },
    },
  });
  clients.set(id, client);
  return client;
}

/** An S3 request that failed: which operation, on which object, and why. */
export class S3OperationError extends Error {
  override readonly name = "S3OperationError";
  /** The S3 API operation, e.g. `UploadPart`. */
  readonly operation: string;

  constructor(operation: string, where: string, cause: unknown, signal: AbortSignal | undefined) {
    // An aborted request says only "Request aborted": the deadline's reason is the real cause.
    const why = signal?.aborted ? errorMessage(signal.reason) : errorMessage(cause);
    super(`S3 ${operation} ${where} failed: ${why}`, { cause });
    this.operation = operation;
  }
}

/** True for an {@link S3OperationError}, also across module copies (bundles). */
export function isS3OperationError(e: unknown): e is S3OperationError {
  return e instanceof Error && e.name === "S3OperationError";
}

function where(bucket: string, key: string, suffix = ""): string {
  return `s3://${bucket}/${key}${suffix}`;
}

/** What one PutObject writes. */
export interface PutObjectRequest {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string;
  /** Aborts the request (the invocation's deadline). */
  readonly signal?: AbortSignal;
}

/** Writes one object with a single PutObject. */
export async function putObject(client: S3Client, req: PutObjectRequest): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: req.bucket,
        Key: req.key,
        Body: req.body,
        ContentLength: req.body.length,
        ContentType: req.contentType,
      }),
      { abortSignal: req.signal },
    );
  } catch (e: unknown) {
    throw new S3OperationError("PutObject", where(req.bucket, req.key), e, req.signal);
  }
}

/** What one multipart upload writes. */
export interface MultipartRequest {
  readonly bucket: string;
  readonly key: string;
  readonly objectBytes: number;
  readonly partBytes: number;
  /** Parts generated and uploaded at once; each worker owns one part buffer. */
  readonly concurrency: number;
  /** Fills a part's buffer with its bytes (in place). */
  readonly fill: (part: Buffer) => Promise<void>;
  readonly contentType?: string;
  /** Aborts the upload (the invocation's deadline). AbortMultipartUpload still runs. */
  readonly signal?: AbortSignal;
}

/** A completed multipart upload. */
export interface MultipartResult {
  readonly parts: number;
  readonly bytes: number;
  readonly etag: string;
}

/**
 * Uploads `objectBytes` generated by `fill` as a multipart upload. On any failure (a part,
 * the completion, the deadline) the upload is aborted, so no parts are left billed, and
 * the first error is thrown.
 */
export async function multipartUpload(
  client: S3Client,
  req: MultipartRequest,
): Promise<MultipartResult> {
  const loc = where(req.bucket, req.key);
  let uploadId: string | undefined;
  try {
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        ContentType: req.contentType ?? "application/octet-stream",
      }),
      { abortSignal: req.signal },
    );
    uploadId = created.UploadId;
  } catch (e: unknown) {
    throw new S3OperationError("CreateMultipartUpload", loc, e, req.signal);
  }
  if (uploadId === undefined) {
    throw new S3OperationError(
      "CreateMultipartUpload",
      loc,
      new Error("no UploadId in the response"),
      undefined,
    );
  }
  try {
    return await uploadParts(client, req, uploadId);
  } catch (e: unknown) {
    await abortUpload(client, req, uploadId, e);
    throw e;
  }
}

async function uploadParts(
  client: S3Client,
  req: MultipartRequest,
  uploadId: string,
): Promise<MultipartResult> {
  const expected = Math.ceil(req.objectBytes / req.partBytes);
  const plan = partPlan(req.objectBytes, req.partBytes);
  // One failing worker cancels the parts the others have in flight.
  const stop = new AbortController();
  const signal =
    req.signal === undefined ? stop.signal : AbortSignal.any([req.signal, stop.signal]);
  const completed: CompletedPart[] = [];
  let failure: unknown;

  const worker = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafeSlow(Math.min(req.partBytes, req.objectBytes));
    // Workers share `plan`: each next() hands out a distinct part.
    for (let next = plan.next(); !next.done && failure === undefined; next = plan.next()) {
      const part = next.value;
      const body = buffer.subarray(0, part.bytes);
      await req.fill(body);
      let etag: string | undefined;
      try {
        const out = await client.send(
          new UploadPartCommand({
            Bucket: req.bucket,
            Key: req.key,
            UploadId: uploadId,
            PartNumber: part.partNumber,
            Body: body,
            ContentLength: part.bytes,
          }),
          { abortSignal: signal },
        );
        etag = out.ETag;
      } catch (e: unknown) {
        throw new S3OperationError(
          "UploadPart",
          where(req.bucket, req.key, ` part ${part.partNumber}`),
          e,
          req.signal,
        );
      }
      if (etag === undefined) {
        throw new S3OperationError(
          "UploadPart",
          where(req.bucket, req.key, ` part ${part.partNumber}`),
          new Error("no ETag in the response"),
          undefined,
        );
      }
      completed.push({ PartNumber: part.partNumber, ETag: etag });
    }
  };

  const workers = Array.from({ length: Math.max(1, req.concurrency) }, () =>
    worker().catch((e: unknown) => {
      if (failure === undefined) {
        failure = e;
        stop.abort(e);
      }
    }),
  );
  await Promise.all(workers);
  if (failure !== undefined) throw failure;
  const loc = where(req.bucket, req.key);
  if (completed.length !== expected) {
    throw new S3OperationError(
      "CompleteMultipartUpload",
      loc,
      new Error(`${completed.length} parts uploaded, ${expected} expected`),
      undefined,
    );
  }
  completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  try {
    const out = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: completed },
      }),
      { abortSignal: req.signal },
    );
    return { parts: completed.length, bytes: req.objectBytes, etag: out.ETag ?? "" };
  } catch (e: unknown) {
    throw new S3OperationError("CompleteMultipartUpload", loc, e, req.signal);
  }
}

/** Time AbortMultipartUpload gets after the deadline has passed, ms. */
export const ABORT_TIMEOUT_MS = 5_000;

async function abortUpload(
  client: S3Client,
  req: MultipartRequest,
  uploadId: string,
  cause: unknown,
): Promise<void> {
  try {
    // Not req.signal: the deadline may be what failed the upload, and the abort must still run.
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: req.bucket, Key: req.key, UploadId: uploadId }),
      { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) },
    );
  } catch (e: unknown) {
    if (cause instanceof Error) {
      cause.message += `; AbortMultipartUpload of ${uploadId} also failed: ${errorMessage(e)}`;
    }
  }
}
