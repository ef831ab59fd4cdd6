/**
 * The batch workload's upload: `Upload` from @aws-sdk/lib-storage, as users deploy it, with
 * `partSize` = MULTIPART_MB, `queueSize` from memory (settings.ts), `leavePartsOnError: false`
 * and a CRC32 checksum per part. The body is a {@link GeneratedBody}: lib-storage sends its
 * parts as views of `queueSize` reused part buffers, without the copy per part it makes of a
 * stream. Around it, what lib-storage leaves to its caller: the first failure stops the other
 * parts at once and the upload is aborted (and awaited) before the handler reports, the
 * deadline stops it too, and the part count is checked.
 */
import { AbortMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { GeneratedBody } from "./part-body";
import { isS3OperationError, S3OperationError, s3Location } from "./s3-client";
import { errorMessage } from "./util";

/** What one batch upload writes. */
export interface BatchUploadRequest {
  readonly bucket: string;
  readonly key: string;
  readonly objectBytes: number;
  readonly partBytes: number;
  /** lib-storage's `queueSize`: parts uploaded at once. */
  readonly queueSize: number;
  readonly contentType?: string;
  /** The invocation's deadline: stops the upload, which is then aborted. */
  readonly signal?: AbortSignal;
}

/** A completed upload. */
export interface BatchUploadResult {
  /** Parts of the multipart upload; 0 when lib-storage sent one PutObject (one part's worth). */
  readonly parts: number;
  readonly bytes: number;
  readonly etag: string;
}

/** Time AbortMultipartUpload gets, ms (also after the deadline has passed). */
export const ABORT_TIMEOUT_MS = 5_000;

/** One upload in progress: its requests in flight and its first failure. */
interface UploadScope {
  readonly bucket: string;
  /** The object's bytes: a part's buffer goes back to it once the part's request settled. */
  readonly body: GeneratedBody;
  readonly stop: AbortController;
  readonly inFlight: Map<Promise<unknown>, { operation: string; where: string }>;
  failure?: S3OperationError;
}

/** Uploads in progress by object key (unique per invocation), for the middleware below. */
const scopes = new Map<string, UploadScope>();
const instrumented = new WeakSet<S3Client>();

function operationOf(commandName: string | undefined): string {
  return (commandName ?? "S3").replace(/Command$/, "");
}

/**
 * Initialize-step middleware for the requests lib-storage makes of an upload in progress:
 * names each failure (operation, object, part) as an {@link S3OperationError}, records the
 * first and stops the upload with it (lib-storage's other workers would otherwise go on
 * through every remaining part), and tracks the requests in flight.
 */
function instrument(client: S3Client): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: unknown; PartNumber?: unknown; Body?: unknown };
      const scope = typeof input.Key === "string" ? scopes.get(input.Key) : undefined;
      if (scope === undefined || typeof input.Key !== "string") return next(args);
      const operation = operationOf(context.commandName);
      const part = typeof input.PartNumber === "number" ? ` part ${input.PartNumber}` : "";
      const where = s3Location(scope.bucket, input.Key, part);
      const pending = next(args);
      scope.inFlight.set(pending, { operation, where });
      try {
        return await pending;
      } catch (e: unknown) {
        const error = new S3OperationError(operation, where, e);
        if (scope.failure === undefined && !scope.stop.signal.aborted) {
          scope.failure = error;
          scope.stop.abort(error);
        }
        throw error;
      } finally {
        scope.inFlight.delete(pending);
        // Settled, retries included: nothing reads the part's bytes any more.
        scope.body.release(input.Body);
      }
    },
    { step: "initialize", name: "s3xUploadScope" },
  );
}

/**
 * Uploads `objectBytes` of random bytes with lib-storage's `Upload`. On any failure (a part,
 * the completion, the part count, the deadline) the multipart upload is aborted before this
 * rejects, so no parts are left billed; the error names the request that failed first.
 */
export async function uploadBatch(
  client: S3Client,
  req: BatchUploadRequest,
): Promise<BatchUploadResult> {
  instrument(client);
  const loc = s3Location(req.bucket, req.key);
  const stop = new AbortController();
  // One part buffer per part in flight: lib-storage's workers each take the next part only
  // once their last one has settled.
  const body = new GeneratedBody(req.objectBytes, req.partBytes, req.queueSize);
  const upload = newUpload(client, req, body, stop);
  // Registered only once nothing before the try below can throw, so the finally removes them.
  const scope: UploadScope = { bucket: req.bucket, body, stop, inFlight: new Map() };
  scopes.set(req.key, scope);
  const onDeadline = (): void => stop.abort(req.signal?.reason);
  req.signal?.addEventListener("abort", onDeadline, { once: true });
  const expected = Math.ceil(req.objectBytes / req.partBytes);
  const partsSeen = new Set<number>();
  upload.on("httpUploadProgress", (p) => {
    if (p.part !== undefined) partsSeen.add(p.part);
  });
  try {
    if (req.signal?.aborted) throw req.signal.reason;
    const out = await upload.done();
    if (upload.uploadId === undefined) {
      return { parts: 0, bytes: req.objectBytes, etag: out.ETag ?? "" };
    }
    // lib-storage compared its part count with the one ContentLength gives before it sent
    // CompleteMultipartUpload (and aborted otherwise); this asserts the count reported.
    if (partsSeen.size !== expected) {
      throw new S3OperationError(
        "CompleteMultipartUpload",
        loc,
        new Error(`${partsSeen.size} parts uploaded, ${expected} expected`),
      );
    }
    return { parts: partsSeen.size, bytes: req.objectBytes, etag: out.ETag ?? "" };
  } catch (e: unknown) {
    const error = failureOf(e, scope, loc, req.signal);
    await abortUpload(client, req, upload.uploadId, scope, error);
    throw error;
  } finally {
    req.signal?.removeEventListener("abort", onDeadline);
    scopes.delete(req.key);
    body.close();
  }
}

/** lib-storage's Upload of one object from its generated body; a throw leaves nothing behind. */
function newUpload(
  client: S3Client,
  req: BatchUploadRequest,
  body: GeneratedBody,
  stop: AbortController,
): Upload {
  try {
    return new Upload({
      client,
      params: {
        Bucket: req.bucket,
        Key: req.key,
        Body: body,
        // Known length: lib-storage then checks the part count before completing.
        ContentLength: req.objectBytes,
        ContentType: req.contentType ?? "application/octet-stream",
        ChecksumAlgorithm: "CRC32",
      },
      partSize: req.partBytes,
      queueSize: req.queueSize,
      leavePartsOnError: false,
      abortController: stop,
    });
  } catch (e: unknown) {
    body.close();
    throw e;
  }
}

/** The error to report: the deadline, else the first failed request, else what was thrown. */
function failureOf(
  thrown: unknown,
  scope: UploadScope,
  loc: string,
  signal: AbortSignal | undefined,
): S3OperationError {
  if (signal?.aborted) {
    // Name the request the deadline caught (the oldest one in flight).
    const [first] = scope.inFlight.values();
    return new S3OperationError(first?.operation ?? "Upload", first?.where ?? loc, thrown, signal);
  }
  if (scope.failure !== undefined) return scope.failure;
  if (isS3OperationError(thrown)) return thrown;
  return new S3OperationError("Upload", loc, thrown);
}

async function abortUpload(
  client: S3Client,
  req: BatchUploadRequest,
  uploadId: string | undefined,
  scope: UploadScope,
  error: S3OperationError,
): Promise<void> {
  if (uploadId === undefined) return;
  // Parts still in flight could land after the abort and stay billed: let them settle first,
  // unless the deadline has come (then there is no time, and the abort goes at once).
  if (!req.signal?.aborted && scope.inFlight.size > 0) {
    const deadline = new Promise<void>((resolve) =>
      req.signal?.addEventListener("abort", () => resolve(), { once: true }),
    );
    await Promise.race([Promise.allSettled([...scope.inFlight.keys()]), deadline]);
  }
  try {
    // Not req.signal: the deadline may be what failed the upload, and the abort must still run.
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: req.bucket, Key: req.key, UploadId: uploadId }),
      { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) },
    );
  } catch (e: unknown) {
    // lib-storage may have aborted it already (its own part count check does).
    if (e instanceof Error && e.name === "NoSuchUpload") return;
    error.message += `; AbortMultipartUpload of ${uploadId} also failed: ${errorMessage(e)}`;
  }
}
