/** Copies: CopyObject and UploadPartCopy, from the object named by x-amz-copy-source. */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { S3_MULTIPART } from "../../../core/constants";
import { type ChecksumAlgorithm, createChecksum } from "../checksums";
import { checkCopySourceConditions, checkWriteConditions } from "../conditions";
import { S3Error } from "../errors";
import { readSmallBody } from "../small-body";
import type { ObjectMeta, PartMeta } from "../store";
import { xmlDocument } from "../xml";
import { type ByteRange, readSegments } from "./read";
import {
  contentType,
  isoSeconds,
  partNumberParam,
  quoted,
  type S3Request,
  sendXml,
  systemHeaders,
  userMetadata,
  XML_BODY_LIMIT,
} from "./request";

/** Largest CopyObject source, as on S3 (bigger objects are copied with UploadPartCopy). */
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

/** The object named by x-amz-copy-source ("/bucket/key" or "bucket/key", URL-encoded, optional ?versionId=null). */
function copySource(r: S3Request): { bucket: string; meta: ObjectMeta } {
  const raw = String(r.req.headers["x-amz-copy-source"] ?? "");
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const versionId = q < 0 ? null : new URLSearchParams(raw.slice(q + 1)).get("versionId");
  let decoded: string;
  try {
    decoded = decodeURIComponent(path).replace(/^\//, "");
  } catch {
    throw new S3Error("InvalidArgument", "Invalid copy source encoding", {
      ArgumentName: "x-amz-copy-source",
      ArgumentValue: raw,
    });
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(
      "InvalidArgument",
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
      {
        ArgumentName: "x-amz-copy-source",
        ArgumentValue: raw,
      },
    );
  }
  if (versionId !== null && versionId !== "null") {
    throw new S3Error(
      "NoSuchVersion",
      "The specified version does not exist.",
      { VersionId: versionId },
      404,
    );
  }
  const bucket = decoded.slice(0, slash);
  const meta = r.store.getObject(bucket, decoded.slice(slash + 1));
  checkCopySourceConditions(r.req, meta);
  return { bucket, meta };
}

/**
 * CopyObject: the source's data is copied under the key; metadata is the source's (directive
 * COPY, the default) or the request's (REPLACE). Copying a key onto itself needs REPLACE.
 */
export async function copyObject(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  r.store.requireBucket(r.bucket);
  const source = copySource(r);
  const directive = String(r.req.headers["x-amz-metadata-directive"] ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", "Unknown metadata directive.", {
      ArgumentName: "x-amz-metadata-directive",
      ArgumentValue: directive,
    });
  }
  if (source.bucket === r.bucket && source.meta.key === r.key && directive === "COPY") {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  if (source.meta.size > MAX_COPY_BYTES) {
    throw new S3Error(
      "InvalidRequest",
      `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`,
    );
  }
  checkWriteConditions(r.req, r.store.findObject(r.bucket, r.key), r.key);
  const meta: Omit<ObjectMeta, "segments"> = {
    key: r.key,
    size: source.meta.size,
    etag: source.meta.etag,
    lastModified: new Date().toISOString(),
    contentType: directive === "REPLACE" ? contentType(r.req) : source.meta.contentType,
    metadata: directive === "REPLACE" ? userMetadata(r.req) : { ...source.meta.metadata },
  };
  const headers = directive === "REPLACE" ? systemHeaders(r.req) : source.meta.headers;
  if (headers !== undefined) meta.headers = { ...headers };
  if (source.meta.checksum !== undefined) meta.checksum = { ...source.meta.checksum };
  const copied = await r.store.copyObject(source, r.bucket, meta);
  sendXml(
    r.res,
    200,
    xmlDocument("CopyObjectResult", {
      ETag: copied.etag,
      LastModified: isoSeconds(copied.lastModified),
      ...(copied.checksum === undefined
        ? {}
        : { [`Checksum${copied.checksum.algorithm.toUpperCase()}`]: copied.checksum.value }),
    }),
  );
}

/** The x-amz-copy-source-range of an UploadPartCopy ("bytes=first-last", inside the source). */
function copyRange(r: S3Request, size: number): ByteRange {
  const raw = r.req.headers["x-amz-copy-source-range"];
  if (raw === undefined) return { start: 0, end: size - 1 };
  const m = /^bytes=(\d+)-(\d+)$/.exec(String(raw).trim());
  if (m === null || Number(m[2]) < Number(m[1]) || Number(m[2]) >= size) {
    throw new S3Error(
      "InvalidArgument",
      `Range specified is not valid for source object of size: ${size}`,
      { ArgumentName: "x-amz-copy-source-range", ArgumentValue: String(raw) },
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

/**
 * UploadPartCopy: a byte range of an existing object becomes a part (hashed for its ETag and
 * the upload's checksum as it is copied, then fsynced).
 */
export async function uploadPartCopy(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  const partNumber = partNumberParam(r);
  const uploadId = r.query.get("uploadId") ?? "";
  const upload = r.store.getUpload(r.bucket, r.key, uploadId);
  const source = copySource(r);
  const range = copyRange(r, source.meta.size);
  const size = source.meta.size === 0 ? 0 : range.end - range.start + 1;
  if (size > S3_MULTIPART.maxPartBytes) {
    throw new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", {
      MaxSizeAllowed: String(S3_MULTIPART.maxPartBytes),
    });
  }
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  const md5 = createHash("md5");
  const checksum = algorithm === undefined ? undefined : createChecksum(algorithm);
  const tmp = r.store.tempPath();
  const out = await open(tmp, "w");
  try {
    if (size > 0) {
      for await (const chunk of readSegments(r.store, source.bucket, source.meta, range)) {
        md5.update(chunk);
        checksum?.update(chunk);
        await out.write(chunk);
      }
    }
    await out.sync();
  } catch (e: unknown) {
    await out.close();
    await r.store.discard(tmp);
    throw e;
  }
  await out.close();
  const etag = quoted(md5.digest());
  const lastModified = new Date().toISOString();
  const part: Omit<PartMeta, "file"> = { partNumber, etag, size, lastModified };
  const value = checksum?.digestBase64();
  if (algorithm !== undefined && value !== undefined) part.checksum = { algorithm, value };
  try {
    await r.store.putPart(r.bucket, r.key, uploadId, part, tmp);
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendXml(
    r.res,
    200,
    xmlDocument("CopyPartResult", {
      ETag: etag,
      LastModified: isoSeconds(lastModified),
      ...(part.checksum === undefined
        ? {}
        : { [`Checksum${part.checksum.algorithm.toUpperCase()}`]: part.checksum.value }),
    }),
  );
}
