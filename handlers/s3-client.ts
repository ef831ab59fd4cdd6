/**
 * The handler's S3 client and what both workloads share: one client per target and process,
 * the error shape of a failed S3 request, the events workload's PutObject, and the middleware
 * that gives multipart parts their integrity path (a signed CRC32 header with an unsigned
 * payload, see {@link useUnsignedPartPayload}).
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type Workload, workloadSpec } from "../core/workloads";
import { errorMessage } from "./util";

/**
 * Client timeouts, ms: a dead or silent endpoint fails well inside the function timeout
 * (60 s events, 900 s batch) even after the SDK's retries, instead of hanging until Lambda
 * kills the function without an EMF line. The socket-idle and whole-request timeouts are per
 * workload (its row's `s3`, core/workloads.ts).
 */
export const S3_TIMEOUTS = {
  /** TCP connect. */
  connectionMs: 3_000,
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

/** The payload hash of a request whose body is covered by a flexible checksum instead. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** Name of the {@link useUnsignedPartPayload} middleware in the client's stack. */
export const UNSIGNED_PART_PAYLOAD_MIDDLEWARE = "s3xUnsignedPartPayload";

interface RequestLike {
  headers: Record<string, string>;
  body?: unknown;
}

function isRequestLike(v: unknown): v is RequestLike {
  return typeof v === "object" && v !== null && "headers" in v;
}

/**
 * Adds a build-step middleware that runs after the SDK's flexible-checksums middleware: an UploadPart
 * whose in-memory body already carries an `x-amz-checksum-*` header is signed with
 * `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of a SHA-256 of the part. lib-storage hands
 * every part over as one Buffer, which the signer would otherwise hash with SHA-256: that
 * doubles the handler's warm client CPU, ≈ 120–130 against ≈ 57–68 ms per 100 MiB with 32 and
 * 64 MiB parts (both bundles interleaved on the local S3 server, docs/architecture.md "The
 * batch upload"). The checksum header is signed
 * and S3 verifies it against the bytes it receives (BadDigest otherwise): the same integrity
 * as the SDK's own path for streamed bodies (STREAMING-UNSIGNED-PAYLOAD-TRAILER, CRC32 in a
 * trailer), while the part stays a Buffer, so the SDK can still retry it. A part without a
 * checksum header keeps its signed SHA-256.
 */
export function useUnsignedPartPayload(client: S3Client): void {
  // flexibleChecksumsMiddleware is added per command, so it cannot be a relative anchor in
  // the client's stack; a low-priority build-step entry runs inside it (after it) all the same.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request;
      if (
        context.commandName === "UploadPartCommand" &&
        isRequestLike(request) &&
        ArrayBuffer.isView(request.body) &&
        Object.keys(request.headers).some((h) => h.toLowerCase().startsWith("x-amz-checksum-"))
      ) {
        request.headers["x-amz-content-sha256"] = UNSIGNED_PAYLOAD;
      }
      return next(args);
    },
    { step: "build", priority: "low", name: UNSIGNED_PART_PAYLOAD_MIDDLEWARE },
  );
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
      socketTimeout: workloadSpec(target.workload).s3.socketIdleMs,
      requestTimeout: workloadSpec(target.workload).s3.requestMs,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: 50 },
      httpsAgent: { keepAlive: true, maxSockets: 50 },
    },
  });
  useUnsignedPartPayload(client);
  clients.set(id, client);
  return client;
}

/** An S3 request that failed: which operation, on which object, and why. */
export class S3OperationError extends Error {
  override readonly name = "S3OperationError";
  /** The S3 API operation, e.g. `UploadPart`. */
  readonly operation: string;

  constructor(operation: string, where: string, cause: unknown, signal?: AbortSignal) {
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

/** `s3://bucket/key` and an optional suffix (` part 2`): where a request went. */
export function s3Location(bucket: string, key: string, suffix = ""): string {
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
    throw new S3OperationError("PutObject", s3Location(req.bucket, req.key), e, req.signal);
  }
}
