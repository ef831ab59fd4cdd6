/** Multipart uploads: CreateMultipartUpload, UploadPart, AbortMultipartUpload, ListMultipartUploads, ListParts. */
import type { IncomingMessage } from "node:http";
import { S3_MULTIPART } from "../../../core/constants";
import { receiveBody } from "../body";
import { type ChecksumAlgorithm, isChecksumAlgorithm, isCrcAlgorithm } from "../checksums";
import { S3Error } from "../errors";
import { readSmallBody } from "../small-body";
import type { PartMeta, UploadMeta } from "../store";
import { xmlDocument } from "../xml";
import {
  checksumHeader,
  contentType,
  intParam,
  isoSeconds,
  OWNER,
  partNumberParam,
  quoted,
  type S3Request,
  sendEmpty,
  sendXml,
  systemHeaders,
  userMetadata,
  XML_BODY_LIMIT,
} from "./request";

/** The x-amz-checksum-algorithm and x-amz-checksum-type of a CreateMultipartUpload. */
function uploadChecksum(
  req: IncomingMessage,
): Pick<UploadMeta, "checksumAlgorithm" | "checksumType"> {
  const rawAlgorithm = req.headers["x-amz-checksum-algorithm"];
  const rawType = req.headers["x-amz-checksum-type"];
  if (typeof rawAlgorithm !== "string") {
    if (typeof rawType === "string") {
      throw new S3Error(
        "InvalidRequest",
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
      );
    }
    return {};
  }
  const algorithm = rawAlgorithm.toLowerCase();
  if (!isChecksumAlgorithm(algorithm)) {
    throw new S3Error(
      "InvalidRequest",
      `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]`,
    );
  }
  const type =
    typeof rawType === "string"
      ? rawType.toUpperCase()
      : algorithm === "crc64nvme"
        ? "FULL_OBJECT"
        : "COMPOSITE";
  if (type !== "COMPOSITE" && type !== "FULL_OBJECT") {
    throw new S3Error(
      "InvalidRequest",
      `Value for x-amz-checksum-type header is invalid: ${rawType}`,
    );
  }
  if (type === "FULL_OBJECT" && !isCrcAlgorithm(algorithm)) {
    throw new S3Error(
      "InvalidRequest",
      `The FULL_OBJECT checksum type cannot be used with the ${algorithm} checksum algorithm.`,
    );
  }
  if (type === "COMPOSITE" && algorithm === "crc64nvme") {
    throw new S3Error(
      "InvalidRequest",
      "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
    );
  }
  return { checksumAlgorithm: algorithm, checksumType: type };
}

/** CreateMultipartUpload: metadata, system metadata and a checksum algorithm to require of each part. */
export async function createMultipartUpload(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  r.store.requireBucket(r.bucket);
  const checksum = uploadChecksum(r.req);
  const headers = systemHeaders(r.req);
  const upload = await r.store.createUpload(r.bucket, r.key, {
    contentType: contentType(r.req),
    metadata: userMetadata(r.req),
    ...(headers === undefined ? {} : { headers }),
    ...checksum,
  });
  const body = Buffer.from(
    xmlDocument("InitiateMultipartUploadResult", {
      Bucket: r.bucket,
      Key: r.key,
      UploadId: upload.uploadId,
    }),
    "utf8",
  );
  const responseHeaders: Record<string, string | number> = {
    "Content-Type": "application/xml",
    "Content-Length": body.length,
  };
  if (checksum.checksumAlgorithm !== undefined) {
    responseHeaders["x-amz-checksum-algorithm"] = checksum.checksumAlgorithm.toUpperCase();
    responseHeaders["x-amz-checksum-type"] = checksum.checksumType ?? "COMPOSITE";
  }
  r.res.writeHead(200, responseHeaders);
  r.res.end(body);
}

/** UploadPart: streamed to disk, any size up to 5 GiB. */
export async function uploadPart(r: S3Request): Promise<void> {
  const partNumber = partNumberParam(r);
  const uploadId = r.query.get("uploadId") ?? "";
  const upload = r.store.getUpload(r.bucket, r.key, uploadId);
  const tmp = r.store.tempPath();
  const body = await receiveBody(r.req, tmp, {
    signed: r.signed,
    maxBytes: S3_MULTIPART.maxPartBytes,
    checksum: upload.checksumAlgorithm as ChecksumAlgorithm | undefined,
  });
  const etag = quoted(body.md5);
  try {
    const part: Omit<PartMeta, "file"> = {
      partNumber,
      etag,
      size: body.size,
      lastModified: new Date().toISOString(),
    };
    if (body.checksum !== undefined) part.checksum = body.checksum;
    await r.store.putPart(r.bucket, r.key, uploadId, part, tmp);
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendEmpty(r.res, 200, { ETag: etag, ...checksumHeader(body.checksum) });
}

/** AbortMultipartUpload: every part file is removed. */
export async function abortMultipartUpload(r: S3Request): Promise<void> {
  const uploadId = r.query.get("uploadId") ?? "";
  r.store.getUpload(r.bucket, r.key, uploadId);
  await r.store.removeUpload(r.bucket, uploadId);
  sendEmpty(r.res, 204);
}

/** ListMultipartUploads: prefix, key-marker/upload-id-marker, max-uploads. */
export async function listMultipartUploads(r: S3Request): Promise<void> {
  const prefix = r.query.get("prefix") ?? "";
  const keyMarker = r.query.get("key-marker") ?? "";
  const idMarker = r.query.get("upload-id-marker") ?? "";
  const maxUploads = intParam(r.query, "max-uploads", 1000, 1000);
  const all = r.store.listUploads(r.bucket).filter((u) => {
    if (!u.key.startsWith(prefix)) return false;
    if (keyMarker === "") return true;
    if (u.key > keyMarker) return true;
    return u.key === keyMarker && idMarker !== "" && u.uploadId > idMarker;
  });
  const page = all.slice(0, maxUploads);
  const truncated = all.length > page.length;
  const last = page[page.length - 1];
  sendXml(
    r.res,
    200,
    xmlDocument("ListMultipartUploadsResult", {
      Bucket: r.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      NextKeyMarker: truncated ? last?.key : undefined,
      NextUploadIdMarker: truncated ? last?.uploadId : undefined,
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: truncated,
      Upload: page.map((u) => ({
        Key: u.key,
        UploadId: u.uploadId,
        Initiator: { ...OWNER },
        Owner: { ...OWNER },
        StorageClass: "STANDARD",
        Initiated: isoSeconds(u.initiated),
      })),
    }),
  );
}

/** ListParts: part-number-marker, max-parts. */
export async function listParts(r: S3Request): Promise<void> {
  const uploadId = r.query.get("uploadId") ?? "";
  const upload = r.store.getUpload(r.bucket, r.key, uploadId);
  const marker = intParam(r.query, "part-number-marker", 0, S3_MULTIPART.maxParts);
  const maxParts = intParam(r.query, "max-parts", 1000, 1000);
  const all = [...upload.parts.values()]
    .filter((p) => p.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = all.slice(0, maxParts);
  const truncated = all.length > page.length;
  sendXml(
    r.res,
    200,
    xmlDocument("ListPartsResult", {
      Bucket: r.bucket,
      Key: r.key,
      UploadId: uploadId,
      Initiator: { ...OWNER },
      Owner: { ...OWNER },
      StorageClass: "STANDARD",
      PartNumberMarker: marker,
      NextPartNumberMarker: page[page.length - 1]?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      ChecksumAlgorithm: upload.checksumAlgorithm?.toUpperCase(),
      ChecksumType: upload.checksumType,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: isoSeconds(p.lastModified),
        ETag: p.etag,
        ...(p.checksum === undefined
          ? {}
          : { [`Checksum${p.checksum.algorithm.toUpperCase()}`]: p.checksum.value }),
        Size: p.size,
      })),
    }),
  );
}
