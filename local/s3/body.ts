/**
 * Receives a request body into a file while hashing it: plain bodies and aws-chunked bodies
 * (signed STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunks and unsigned ones with trailing checksums).
 * The bytes are copied once, from the socket's buffers into 1 MiB slots (slots.ts); each full
 * slot is hashed where it lies by a worker thread and written to disk at its offset at the same
 * time, and is reused once both are done. Memory stays bounded by the slots in flight whatever
 * the body size.
 */
import { unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { AwsChunkedDecoder } from "./aws-chunked";
import { BodyFile } from "./body-file";
import { type ChecksumAlgorithm, isChecksumAlgorithm } from "./checksums";
import { S3Error } from "./errors";
import { createBodyHasher } from "./hashing";
import type { SignedRequest } from "./sigv4";
import { acquireSlot, releaseSlot, SLOT_BYTES, type Slot } from "./slots";

/** What {@link receiveBody} learned about a stored body. */
export interface ReceivedBody {
  size: number;
  /** Binary MD5 of the decoded body. */
  md5: Buffer;
  /** Verified flexible checksum, if the client sent one: algorithm and base64 value. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/**
 * Buffered writes start the writeback every this many bytes, so that a body's final fsync waits
 * for its tail only. Small against the smallest common part (8 MiB): at 8 MiB the one writeback
 * of an 8 MiB part started with its last write, and the parts in flight, which end together,
 * each waited 12-22 ms for it with no body arriving (measured); at 2 MiB they wait 0-6 ms.
 */
const SYNC_EVERY_BYTES = 2 * 1024 * 1024;
/**
 * Full slots of one body being hashed and written at once; the socket is read on while they
 * are, and waits when this many are. Four keep the disk and the hashing threads busy.
 */
const SLOTS_IN_FLIGHT = 4;

/**
 * The checksum the request announces, from x-amz-checksum-<alg> (value given up front),
 * x-amz-trailer (value in the trailer) or x-amz-sdk-checksum-algorithm.
 */
function announcedChecksum(
  req: IncomingMessage,
): { algorithm: ChecksumAlgorithm; value?: string; inTrailer?: boolean } | undefined {
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith("x-amz-checksum-") || typeof value !== "string") continue;
    const algorithm = name.slice("x-amz-checksum-".length);
    if (isChecksumAlgorithm(algorithm)) return { algorithm, value };
  }
  const trailer = req.headers["x-amz-trailer"];
  if (typeof trailer === "string" && trailer.startsWith("x-amz-checksum-")) {
    const algorithm = trailer.slice("x-amz-checksum-".length).trim().toLowerCase();
    if (isChecksumAlgorithm(algorithm)) return { algorithm, inTrailer: true };
  }
  const sdk = req.headers["x-amz-sdk-checksum-algorithm"];
  if (typeof sdk === "string" && isChecksumAlgorithm(sdk.toLowerCase())) {
    return { algorithm: sdk.toLowerCase() as ChecksumAlgorithm };
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Options of {@link receiveBody}. */
export interface ReceiveOptions {
  /** The verified signature (for chunk signatures and the signed payload hash). */
  signed?: SignedRequest;
  /** Largest decoded body accepted. */
  maxBytes: number;
  /**
   * The checksum the body must have (a part of an upload created with x-amz-checksum-algorithm):
   * computed when the request gives none, and a request giving another one is refused.
   */
  checksum?: ChecksumAlgorithm;
}

/** Parses the Content-MD5 header: 16 bytes in base64, else InvalidDigest. */
function contentMd5(req: IncomingMessage): Buffer | undefined {
  const given = header(req, "content-md5");
  if (given === undefined) return undefined;
  const md5 = Buffer.from(given, "base64");
  if (md5.length !== 16 || md5.toString("base64") !== given.trim()) {
    throw new S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.");
  }
  return md5;
}

/**
 * Streams the request body into `dest`, hashing it on the way, then checks Content-MD5, the
 * signed payload hash and any flexible checksum. Removes `dest` on any failure.
 * The file is flushed to disk (fsync) before this resolves.
 */
export async function receiveBody(
  req: IncomingMessage,
  dest: string,
  options: ReceiveOptions,
): Promise<ReceivedBody> {
  const md5Given = contentMd5(req);
  const payloadHash = options.signed?.payloadHash ?? header(req, "x-amz-content-sha256") ?? "";
  const chunked =
    payloadHash.startsWith("STREAMING-") ||
    (header(req, "content-encoding") ?? "").split(",").some((e) => e.trim() === "aws-chunked");
  const signedHex = /^[0-9a-f]{64}$/.test(payloadHash) ? payloadHash : undefined;
  const announced =
    announcedChecksum(req) ??
    (options.checksum === undefined ? undefined : { algorithm: options.checksum });
  if (options.checksum !== undefined && announced?.algorithm !== options.checksum) {
    throw new S3Error(
      "InvalidRequest",
      `Checksum Type mismatch occurred, expected checksum Type: ${options.checksum}, actual checksum Type: ${announced?.algorithm}`,
    );
  }
  const declaredLength = Number(
    header(req, chunked ? "x-amz-decoded-content-length" : "content-length"),
  );
  if (
    !chunked &&
    req.headers["content-length"] === undefined &&
    req.headers["transfer-encoding"] === undefined
  ) {
    throw new S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (Number.isFinite(declaredLength) && declaredLength > options.maxBytes) {
    throw new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", {
      MaxSizeAllowed: String(options.maxBytes),
    });
  }

  const expected = Number.isFinite(declaredLength) ? declaredLength : undefined;
  const hasher = createBodyHasher(
    { sha256: signedHex !== undefined, checksum: announced?.algorithm },
    expected,
  );
  const trailers = new Map<string, string>();
  const decoder = chunked ? new AwsChunkedDecoder(trailers, options.signed) : undefined;
  const maxBytes = options.maxBytes;
  let size = 0;
  /** The slot being filled, and how many of its bytes are. */
  let slot: Slot | undefined;
  let filled = 0;
  /** File offset of the slot being filled. */
  let position = 0;
  /** Full slots being hashed and written; each settles (never rejects) once its slot is free. */
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let file: BodyFile | undefined;

  /** Hands the filled slot to the hasher and the file at once; frees it when both are done. */
  const dispatch = (out: BodyFile): void => {
    const full = slot;
    if (full === undefined) return;
    const length = filled;
    const at = position;
    slot = undefined;
    filled = 0;
    position += length;
    const work = Promise.all([
      hasher.update(full, length),
      out.write(full.bytes.subarray(0, length), at, full.pooled),
    ])
      .then(
        () => undefined,
        (e: unknown) => {
          failure ??= e;
        },
      )
      .finally(() => {
        releaseSlot(full);
        inFlight.delete(work);
      });
    inFlight.add(work);
  };
  /** Copies decoded bytes into slots, dispatching each one that fills up. */
  const take = (out: BodyFile, data: Buffer): void => {
    size += data.length;
    if (size > maxBytes) {
      throw new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", {
        MaxSizeAllowed: String(maxBytes),
      });
    }
    let off = 0;
    while (off < data.length) {
      slot ??= acquireSlot();
      const n = data.copy(slot.bytes, filled, off);
      filled += n;
      off += n;
      if (filled === SLOT_BYTES) dispatch(out);
    }
  };

  try {
    // O_DIRECT pays off for bodies of a slot or more; smaller ones go through the page cache.
    const out = await BodyFile.create(dest, {
      direct: expected !== undefined && expected >= SLOT_BYTES,
      syncEveryBytes: SYNC_EVERY_BYTES,
    });
    file = out;
    const sink = (data: Buffer): void => take(out, data);
    for await (const piece of req as AsyncIterable<Buffer>) {
      if (decoder === undefined) take(out, piece);
      else decoder.push(piece, sink);
      while (inFlight.size >= SLOTS_IN_FLIGHT && failure === undefined) {
        await Promise.race(inFlight);
      }
      if (failure !== undefined) throw failure;
    }
    decoder?.end();
    if (filled > 0) dispatch(out);
    while (inFlight.size > 0) await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    if (expected !== undefined && size !== expected) {
      throw new S3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header: got ${size} of ${expected}`,
      );
    }
    const [, digests] = await Promise.all([out.finish(), hasher.finish()]);
    const md5Value = digests.md5;
    if (md5Given !== undefined && !md5Given.equals(md5Value)) {
      throw new S3Error(
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
        {
          ExpectedDigest: md5Given.toString("base64"),
          CalculatedDigest: md5Value.toString("base64"),
        },
      );
    }
    if (signedHex !== undefined && digests.sha256 !== signedHex) {
      throw new S3Error(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    const result: ReceivedBody = { size, md5: md5Value };
    if (announced !== undefined) {
      const computed = digests.checksum;
      const given = announced.value ?? trailers.get(`x-amz-checksum-${announced.algorithm}`);
      if (given === undefined && announced.inTrailer === true) {
        throw new S3Error(
          "InvalidRequest",
          `The x-amz-trailer header announced x-amz-checksum-${announced.algorithm}, but the body ended without it.`,
        );
      }
      if (computed !== undefined && given !== undefined) {
        if (computed !== given) {
          throw new S3Error(
            "BadDigest",
            `The ${announced.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          );
        }
        result.checksum = { algorithm: announced.algorithm, value: computed };
      } else if (computed !== undefined && given === undefined) {
        // Asked for (x-amz-sdk-checksum-algorithm, or the upload's algorithm) but not given:
        // the server's own value is the object's checksum, as on S3.
        result.checksum = { algorithm: announced.algorithm, value: computed };
      }
    }
    return result;
  } catch (e: unknown) {
    if (slot !== undefined) releaseSlot(slot);
    slot = undefined;
    // The hasher and the file may still be reading slots: they are freed as those settle.
    while (inFlight.size > 0) await Promise.all(inFlight);
    hasher.cancel();
    if (file === undefined) await unlink(dest).catch(() => {});
    else await file.discard();
    throw e;
  }
}
