/**
 * Receives a request body into a file while hashing it: plain bodies and aws-chunked bodies
 * (signed STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunks and unsigned ones with trailing checksums).
 * Memory stays bounded by the socket and file-stream buffers whatever the body size.
 */
import { createHash, type Hash } from "node:crypto";
import { unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { type ChecksumAlgorithm, isChecksumAlgorithm } from "./checksums";
import { S3Error } from "./errors";
import { FileSink } from "./file-sink";
import { createBodyHasher } from "./hashing";
import { chunkSignature, type SignedRequest } from "./sigv4";

/** What {@link receiveBody} learned about a stored body. */
export interface ReceivedBody {
  size: number;
  /** Binary MD5 of the decoded body. */
  md5: Buffer;
  /** Verified flexible checksum, if the client sent one: algorithm and base64 value. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

const LINE_LIMIT = 8 * 1024;
const MIB = 1024 * 1024;
/**
 * Writeback starts every this many bytes, so that a body's final fsync waits for its tail only.
 * Small against the smallest common part (8 MiB): at 8 MiB the one writeback of an 8 MiB part
 * started with its last write, and the parts in flight, which end together, each waited
 * 12-22 ms for it with no body arriving (measured); at 2 MiB they wait 0-6 ms.
 */
const SYNC_EVERY_BYTES = 2 * MIB;

/**
 * The checksum the request announces, from x-amz-checksum-<alg> (value given up front),
 * x-amz-trailer (value in the trailer) or x-amz-sdk-checksum-algorithm.
 */
function announcedChecksum(
  req: IncomingMessage,
): { algorithm: ChecksumAlgorithm; value?: string } | undefined {
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith("x-amz-checksum-") || typeof value !== "string") continue;
    const algorithm = name.slice("x-amz-checksum-".length);
    if (isChecksumAlgorithm(algorithm)) return { algorithm, value };
  }
  const trailer = req.headers["x-amz-trailer"];
  if (typeof trailer === "string" && trailer.startsWith("x-amz-checksum-")) {
    const algorithm = trailer.slice("x-amz-checksum-".length).trim().toLowerCase();
    if (isChecksumAlgorithm(algorithm)) return { algorithm };
  }
  const sdk = req.headers["x-amz-sdk-checksum-algorithm"];
  if (typeof sdk === "string" && isChecksumAlgorithm(sdk.toLowerCase())) {
    return { algorithm: sdk.toLowerCase() as ChecksumAlgorithm };
  }
  return undefined;
}

/** Decodes an aws-chunked body, verifying chunk signatures when a signed request is given. */
function awsChunkedDecoder(trailers: Map<string, string>, signed: SignedRequest | undefined) {
  return async function* decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    // Widened on purpose: onLine() changes it, which flow analysis does not see.
    let state = "header" as "header" | "data" | "crlf" | "trailer" | "done";
    let remaining = 0;
    let pending: Buffer[] = [];
    let pendingLength = 0;
    let chunkSig = "";
    let previousSig = signed?.signature ?? "";
    let chunkHash: Hash | undefined;
    const verifyChunk = (): void => {
      if (signed === undefined || chunkHash === undefined) return;
      const want = chunkSignature(signed, previousSig, chunkHash.digest("hex"));
      if (want !== chunkSig) {
        throw new S3Error("SignatureDoesNotMatch", "The chunk signature does not match");
      }
      previousSig = want;
      chunkHash = undefined;
    };
    const onLine = (line: string): void => {
      if (state === "header") {
        const semi = line.indexOf(";");
        const size = Number.parseInt(semi < 0 ? line : line.slice(0, semi), 16);
        if (!Number.isSafeInteger(size) || size < 0) {
          throw new S3Error("IncompleteBody", "Malformed aws-chunked chunk header");
        }
        const sig = /chunk-signature=([0-9a-f]{64})/.exec(line);
        if (signed?.payloadHash.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
          if (sig?.[1] === undefined)
            throw new S3Error("SignatureDoesNotMatch", "Missing chunk signature");
          chunkSig = sig[1];
          chunkHash = createHash("sha256");
        }
        if (size === 0) {
          verifyChunk();
          state = "trailer";
        } else {
          remaining = size;
          state = "data";
        }
      } else if (state === "crlf") {
        if (line !== "") throw new S3Error("IncompleteBody", "Malformed aws-chunked chunk end");
        verifyChunk();
        state = "header";
      } else if (state === "trailer") {
        if (line === "") {
          state = "done";
          return;
        }
        const colon = line.indexOf(":");
        if (colon > 0)
          trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    };
    for await (const piece of source) {
      let off = 0;
      while (off < piece.length) {
        if (state === "done") {
          throw new S3Error("IncompleteBody", "Data after the end of an aws-chunked body");
        }
        if (state === "data") {
          const n = Math.min(remaining, piece.length - off);
          const slice = piece.subarray(off, off + n);
          chunkHash?.update(slice);
          off += n;
          remaining -= n;
          if (remaining === 0) state = "crlf";
          yield slice;
          continue;
        }
        const nl = piece.indexOf(10, off);
        const end = nl < 0 ? piece.length : nl;
        pending.push(piece.subarray(off, end));
        pendingLength += end - off;
        if (pendingLength > LINE_LIMIT)
          throw new S3Error("IncompleteBody", "aws-chunked line too long");
        off = end;
        if (nl < 0) continue;
        off = nl + 1;
        let line = Buffer.concat(pending, pendingLength).toString("latin1");
        pending = [];
        pendingLength = 0;
        if (line.endsWith("\r")) line = line.slice(0, -1);
        onLine(line);
      }
    }
    // The final CRLF after the last chunk or trailer is optional in practice.
    if (state !== "done" && state !== "trailer") {
      throw new S3Error(
        "IncompleteBody",
        "The request body ended before the last aws-chunked chunk",
      );
    }
  };
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
  const announced = announcedChecksum(req);
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

  const hasher = createBodyHasher(
    { sha256: signedHex !== undefined, checksum: announced?.algorithm },
    Number.isFinite(declaredLength) ? declaredLength : undefined,
  );
  const trailers = new Map<string, string>();
  let size = 0;
  const maxBytes = options.maxBytes;
  async function* hash(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new S3Error(
          "EntityTooLarge",
          "Your proposed upload exceeds the maximum allowed size",
        );
      }
      const wait = hasher.update(chunk);
      if (wait !== undefined) await wait;
      yield chunk;
    }
  }
  const out = new FileSink(dest, {
    syncEveryBytes: SYNC_EVERY_BYTES,
    highWaterMark: MIB,
    minWriteBytes: MIB,
  });
  try {
    if (chunked) await pipeline(req, awsChunkedDecoder(trailers, options.signed), hash, out);
    else await pipeline(req, hash, out);
    if (Number.isFinite(declaredLength) && size !== declaredLength) {
      throw new S3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header: got ${size} of ${declaredLength}`,
      );
    }
    const digests = await hasher.finish();
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
      if (computed !== undefined && given !== undefined) {
        if (computed !== given) {
          throw new S3Error(
            "BadDigest",
            `The ${announced.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          );
        }
        result.checksum = { algorithm: announced.algorithm, value: computed };
      }
    }
    return result;
  } catch (e: unknown) {
    hasher.cancel();
    await unlink(dest).catch(() => {});
    throw e;
  }
}

/**
 * Reads a small request body (XML documents) into memory, up to `limit` bytes, checking the
 * signed payload hash when the request carries one.
 */
export async function readSmallBody(
  req: IncomingMessage,
  limit: number,
  signed?: SignedRequest,
): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new S3Error("MalformedXML", "The XML document is too large");
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, length);
  const payloadHash = signed?.payloadHash ?? "";
  if (
    /^[0-9a-f]{64}$/.test(payloadHash) &&
    createHash("sha256").update(body).digest("hex") !== payloadHash
  ) {
    throw new S3Error(
      "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  return body.toString("utf8");
}
