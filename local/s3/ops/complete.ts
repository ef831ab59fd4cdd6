/**
 * CompleteMultipartUpload: the listed parts checked against the uploaded ones, the object's
 * ETag and checksum, and a repeated Complete answered as the first (SDK retries).
 */
import { createHash } from "node:crypto";
import { S3_MULTIPART } from "../../../core/constants";
import { type ChecksumAlgorithm, combineCrcs, compositeChecksum } from "../checksums";
import { S3Error } from "../errors";
import { readSmallBody } from "../small-body";
import type { ObjectMeta, PartMeta, UploadMeta } from "../store";
import { type CompletedPart, parseCompleteMultipartUpload, xmlDocument } from "../xml";
import { commitConditionally, type S3Request, unquote, XML_BODY_LIMIT } from "./request";

/** The CompleteMultipartUploadResult document. */
function sendCompleteResult(r: S3Request, meta: ObjectMeta): void {
  const body = Buffer.from(
    xmlDocument("CompleteMultipartUploadResult", {
      Location: `http://${r.req.headers.host ?? "127.0.0.1"}/${r.bucket}/${encodeURIComponent(r.key).replace(/%2F/g, "/")}`,
      Bucket: r.bucket,
      Key: r.key,
      ETag: meta.etag,
      ...(meta.checksum === undefined
        ? {}
        : {
            [`Checksum${meta.checksum.algorithm.toUpperCase()}`]: meta.checksum.value,
            ChecksumType: meta.checksum.type,
          }),
    }),
    "utf8",
  );
  r.res.writeHead(200, { "Content-Type": "application/xml", "Content-Length": body.length });
  r.res.end(body);
}

/**
 * The object a repeated CompleteMultipartUpload refers to: completed from this upload with the
 * same parts (a client retrying after a lost response); otherwise undefined.
 */
function alreadyCompleted(
  r: S3Request,
  uploadId: string,
  listed: CompletedPart[],
): ObjectMeta | undefined {
  const meta = r.store.findObject(r.bucket, r.key);
  const done = meta?.multipart;
  if (done === undefined || done.uploadId !== uploadId || done.parts.length !== listed.length)
    return undefined;
  const same = listed.every(
    (p, i) =>
      p.partNumber === done.parts[i]?.partNumber &&
      unquote(p.etag) === unquote(done.parts[i]?.etag ?? ""),
  );
  return same ? meta : undefined;
}

/**
 * The checksum of a completed upload created with an algorithm: each listed part must carry
 * its checksum and match the stored one (InvalidPart); COMPOSITE is the checksum of the part
 * checksums, FULL_OBJECT the CRC of the whole object (checked against x-amz-checksum-<alg>
 * when the client sends it).
 */
function completedChecksum(
  r: S3Request,
  upload: UploadMeta,
  listed: CompletedPart[],
  parts: PartMeta[],
): ObjectMeta["checksum"] {
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | undefined;
  parts.forEach((part, i) => {
    const given = listed[i]?.checksum;
    if (given === undefined) {
      if (algorithm !== undefined && upload.checksumType !== "FULL_OBJECT") {
        throw new S3Error(
          "InvalidRequest",
          `The upload was created using a ${algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${part.partNumber} in the request.`,
        );
      }
      return;
    }
    if (
      part.checksum === undefined ||
      part.checksum.algorithm !== given.algorithm ||
      part.checksum.value !== given.value
    ) {
      throw new S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        { UploadId: upload.uploadId, PartNumber: String(part.partNumber), ETag: part.etag },
      );
    }
  });
  if (algorithm === undefined) return undefined;
  const values = parts.map((p) => p.checksum?.value);
  if (values.some((v) => v === undefined)) return undefined;
  if (upload.checksumType === "FULL_OBJECT") {
    const value = combineCrcs(
      algorithm,
      parts.map((p) => ({ value: p.checksum?.value ?? "", size: p.size })),
    );
    const given = r.req.headers[`x-amz-checksum-${algorithm}`];
    if (typeof given === "string" && given !== value) {
      throw new S3Error(
        "BadDigest",
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
    return { algorithm, value, type: "FULL_OBJECT" };
  }
  return { algorithm, value: compositeChecksum(algorithm, values as string[]), type: "COMPOSITE" };
}

/**
 * CompleteMultipartUpload: parts ascending (InvalidPartOrder), uploaded with the given ETag
 * (InvalidPart), ≥ 5 MiB except the last (EntityTooSmall). ETag: md5 of the part md5s, "-N".
 * Repeated after it succeeded, with the same parts, it answers the same again (SDK retries).
 */
export async function completeMultipartUpload(r: S3Request): Promise<void> {
  const uploadId = r.query.get("uploadId") ?? "";
  let upload: UploadMeta;
  try {
    upload = r.store.getUpload(r.bucket, r.key, uploadId);
  } catch (e: unknown) {
    if (!(e instanceof S3Error) || e.code !== "NoSuchUpload") throw e;
    const listed = parseCompleteMultipartUpload(
      await readSmallBody(r.req, XML_BODY_LIMIT, r.signed),
    );
    const done = alreadyCompleted(r, uploadId, listed);
    if (done === undefined) throw e;
    sendCompleteResult(r, done);
    return;
  }
  const listed = parseCompleteMultipartUpload(await readSmallBody(r.req, XML_BODY_LIMIT, r.signed));
  const parts: PartMeta[] = [];
  let previous = 0;
  for (const item of listed) {
    if (item.partNumber <= previous) {
      throw new S3Error(
        "InvalidPartOrder",
        "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        { UploadId: uploadId },
      );
    }
    previous = item.partNumber;
    const part = upload.parts.get(item.partNumber);
    if (part === undefined || unquote(part.etag) !== unquote(item.etag)) {
      throw new S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        { UploadId: uploadId, PartNumber: String(item.partNumber), ETag: item.etag },
      );
    }
    parts.push(part);
  }
  parts.forEach((part, i) => {
    if (i < parts.length - 1 && part.size < S3_MULTIPART.minPartBytes) {
      throw new S3Error(
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object size.",
        {
          ProposedSize: String(part.size),
          MinSizeAllowed: String(S3_MULTIPART.minPartBytes),
          PartNumber: String(part.partNumber),
          ETag: part.etag,
        },
      );
    }
  });
  const checksum = completedChecksum(r, upload, listed, parts);
  const md5s = createHash("md5");
  for (const part of parts) md5s.update(Buffer.from(unquote(part.etag), "hex"));
  const etag = `"${md5s.digest("hex")}-${parts.length}"`;
  const meta = await commitConditionally(r, () =>
    r.store.completeUpload(upload, parts, etag, checksum),
  );
  sendCompleteResult(r, meta);
}
