/**
 * The S3 operations: one function per operation, each given the parsed request and the store.
 * Path-style addressing only: /<bucket>/<key>.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { S3_MULTIPART } from "../../core/constants";
import { readSmallBody, receiveBody } from "./body";
import { S3Error } from "./errors";
import type { S3Operation } from "./faults";
import type { SignedRequest } from "./sigv4";
import type { ObjectMeta, PartMeta, Store } from "./store";
import { parseCompleteMultipartUpload, parseDeleteObjects, type XmlNode, xmlDocument } from "./xml";

/** One request, routed. */
export interface S3Request {
  req: IncomingMessage;
  res: ServerResponse;
  operation: S3Operation;
  bucket: string;
  key: string;
  query: URLSearchParams;
  signed: SignedRequest;
  store: Store;
  region: string;
}

const OWNER = { ID: "s3ingestlocal", DisplayName: "s3-ingestion-experiment" } as const;
/** Largest CompleteMultipartUpload / Delete document accepted. */
const XML_BODY_LIMIT = 4 * 1024 * 1024;
/** Largest PutObject body, as on S3. */
const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;

function sendXml(res: ServerResponse, status: number, xml: string): void {
  const body = Buffer.from(xml, "utf8");
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": body.length });
  res.end(body);
}

function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, "Content-Length": 0 });
  res.end();
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") {
      metadata[name.slice("x-amz-meta-".length)] = value;
    }
  }
  return metadata;
}

function contentType(req: IncomingMessage): string {
  return req.headers["content-type"] ?? "binary/octet-stream";
}

function quoted(md5: Buffer): string {
  return `"${md5.toString("hex")}"`;
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, "");
}

function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) {
    throw new S3Error(
      "InvalidArgument",
      `Provided ${name} not an integer or within integer range`,
      {
        ArgumentName: name,
        ArgumentValue: raw,
      },
    );
  }
  return Math.min(Number(raw), max);
}

/** Encodes a key for encoding-type=url responses (S3 keeps "/" readable). */
function maybeEncode(text: string, encode: boolean): string {
  return encode ? encodeURIComponent(text).replace(/%2F/g, "/") : text;
}

function isoSeconds(iso: string): string {
  return new Date(iso).toISOString();
}

// ---------------------------------------------------------------------------------- buckets

/** ListBuckets. */
export async function listBuckets(r: S3Request): Promise<void> {
  const buckets = r.store
    .listBuckets()
    .map((b) => ({ Name: b.name, CreationDate: isoSeconds(b.created) }));
  sendXml(
    r.res,
    200,
    xmlDocument("ListAllMyBucketsResult", { Owner: { ...OWNER }, Buckets: { Bucket: buckets } }),
  );
}

/** CreateBucket (any CreateBucketConfiguration body is read and ignored: one region). */
export async function createBucket(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  await r.store.createBucket(r.bucket);
  sendEmpty(r.res, 200, { Location: `/${r.bucket}` });
}

/** HeadBucket. */
export async function headBucket(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  sendEmpty(r.res, 200, { "x-amz-bucket-region": r.region });
}

/** GetBucketLocation (s3cmd asks before its first request to a bucket). */
export async function getBucketLocation(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const region = r.region === "us-east-1" ? "" : r.region;
  sendXml(
    r.res,
    200,
    `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region}</LocationConstraint>`,
  );
}

/** DeleteBucket: only an empty bucket (no objects, no unfinished uploads). */
export async function deleteBucket(r: S3Request): Promise<void> {
  await r.store.deleteBucket(r.bucket);
  sendEmpty(r.res, 204);
}

// ---------------------------------------------------------------------------------- objects

/** PutObject: the body streams to a temp file, is verified, then committed. */
export async function putObject(r: S3Request): Promise<void> {
  if (r.req.headers["x-amz-copy-source"] !== undefined) {
    throw new S3Error("NotImplemented", "CopyObject is not implemented by the local S3 server");
  }
  r.store.requireBucket(r.bucket);
  const tmp = r.store.tempPath();
  const body = await receiveBody(r.req, tmp, { signed: r.signed, maxBytes: MAX_PUT_BYTES });
  const etag = quoted(body.md5);
  const meta: Omit<ObjectMeta, "segments"> = {
    key: r.key,
    size: body.size,
    etag,
    lastModified: new Date().toISOString(),
    contentType: contentType(r.req),
    metadata: userMetadata(r.req),
  };
  if (body.checksum !== undefined) meta.checksum = body.checksum;
  try {
    await r.store.putObject(r.bucket, meta, [{ path: tmp, size: body.size }]);
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendEmpty(r.res, 200, { ETag: etag, ...checksumHeader(body.checksum) });
}

interface ByteRange {
  start: number;
  end: number; // inclusive
}

/** Parses a single-range Range header; undefined when absent or not a bytes range (ignored, as S3 does). */
function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return undefined;
  const [, a = "", b = ""] = m;
  let start: number;
  let end: number;
  if (a === "") {
    if (b === "") return undefined;
    const suffix = Number(b);
    if (suffix === 0) throw invalidRange(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== "" && Number(b) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function invalidRange(size: number): S3Error {
  return new S3Error("InvalidRange", "The requested range is not satisfiable", {
    ActualObjectSize: String(size),
  });
}

function objectHeaders(meta: ObjectMeta): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": meta.contentType,
    ETag: meta.etag,
    "Last-Modified": new Date(meta.lastModified).toUTCString(),
    "Accept-Ranges": "bytes",
  };
  for (const [name, value] of Object.entries(meta.metadata)) headers[`x-amz-meta-${name}`] = value;
  if (meta.segments.length > 1) headers["x-amz-mp-parts-count"] = String(meta.segments.length);
  return headers;
}

async function* readSegments(
  store: Store,
  bucket: string,
  meta: ObjectMeta,
  range: ByteRange,
): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const segment of meta.segments) {
    const segStart = offset;
    const segEnd = offset + segment.size - 1;
    offset += segment.size;
    if (segment.size === 0 || segEnd < range.start || segStart > range.end) continue;
    const stream = createReadStream(store.segmentPath(bucket, segment.file), {
      start: Math.max(range.start, segStart) - segStart,
      end: Math.min(range.end, segEnd) - segStart,
      highWaterMark: 1024 * 1024,
    });
    for await (const chunk of stream) yield chunk as Buffer;
  }
}

/** The `x-amz-checksum-<algorithm>` response header of a verified checksum, if there is one. */
function checksumHeader(
  checksum: { readonly algorithm: string; readonly value: string } | undefined,
): Record<string, string> {
  return checksum === undefined ? {} : { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value };
}

/** GetObject and HeadObject, with a single byte Range. */
async function getOrHead(r: S3Request, withBody: boolean): Promise<void> {
  const meta = r.store.getObject(r.bucket, r.key);
  const range = parseRange(r.req.headers.range, meta.size);
  const headers = objectHeaders(meta);
  if (
    meta.checksum !== undefined &&
    range === undefined &&
    r.req.headers["x-amz-checksum-mode"] === "ENABLED"
  ) {
    Object.assign(headers, checksumHeader(meta.checksum));
  }
  const span = range ?? { start: 0, end: meta.size - 1 };
  const length = meta.size === 0 ? 0 : span.end - span.start + 1;
  headers["Content-Length"] = String(length);
  if (range !== undefined)
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
  r.res.writeHead(range === undefined ? 200 : 206, headers);
  if (!withBody || length === 0) {
    r.res.end();
    return;
  }
  await pipeline(readSegments(r.store, r.bucket, meta, span), r.res);
}

/** GetObject. */
export function getObject(r: S3Request): Promise<void> {
  return getOrHead(r, true);
}

/** HeadObject. */
export function headObject(r: S3Request): Promise<void> {
  return getOrHead(r, false);
}

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(r: S3Request): Promise<void> {
  await r.store.deleteObject(r.bucket, r.key);
  sendEmpty(r.res, 204);
}

/** DeleteObjects (aws s3 rm --recursive uses it). */
export async function deleteObjects(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const { keys, quiet } = parseDeleteObjects(await readSmallBody(r.req, XML_BODY_LIMIT, r.signed));
  for (const key of keys) await r.store.deleteObject(r.bucket, key);
  sendXml(
    r.res,
    200,
    xmlDocument("DeleteResult", { Deleted: quiet ? [] : keys.map((Key) => ({ Key })) }),
  );
}

interface Listing {
  contents: ObjectMeta[];
  prefixes: string[];
  truncated: boolean;
  /** Last key or common prefix returned (the next marker). */
  last?: string;
}

function listKeys(r: S3Request, after: string, maxKeys: number): Listing {
  const prefix = r.query.get("prefix") ?? "";
  const delimiter = r.query.get("delimiter") ?? "";
  const listing: Listing = { contents: [], prefixes: [], truncated: false };
  const seen = new Set<string>();
  for (const meta of r.store.sortedObjects(r.bucket)) {
    if (!meta.key.startsWith(prefix)) continue;
    let entry = meta.key;
    let common: string | undefined;
    if (delimiter !== "") {
      const at = meta.key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        common = meta.key.slice(0, at + delimiter.length);
        entry = common;
      }
    }
    if (after !== "" && Buffer.compare(Buffer.from(entry), Buffer.from(after)) <= 0) continue;
    if (common !== undefined && seen.has(common)) continue;
    if (listing.contents.length + listing.prefixes.length >= maxKeys) {
      listing.truncated = true;
      break;
    }
    if (common !== undefined) {
      seen.add(common);
      listing.prefixes.push(common);
    } else {
      listing.contents.push(meta);
    }
    listing.last = entry;
  }
  return listing;
}

function contentsXml(listing: Listing, encode: boolean): XmlNode {
  return {
    Contents: listing.contents.map((m) => ({
      Key: maybeEncode(m.key, encode),
      LastModified: isoSeconds(m.lastModified),
      ETag: m.etag,
      Size: m.size,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: maybeEncode(p, encode) })),
  };
}

/** ListObjectsV2: prefix, delimiter, max-keys, continuation-token, start-after. */
export async function listObjectsV2(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const token = r.query.get("continuation-token");
  const startAfter = r.query.get("start-after") ?? "";
  let after = startAfter;
  if (token !== null) {
    after = Buffer.from(token, "base64url").toString("utf8");
    if (token === "")
      throw new S3Error("InvalidArgument", "The continuation token provided is incorrect");
  }
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, after, maxKeys);
  sendXml(
    r.res,
    200,
    xmlDocument("ListBucketResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      Delimiter: r.query.has("delimiter")
        ? maybeEncode(r.query.get("delimiter") ?? "", encode)
        : undefined,
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      KeyCount: listing.contents.length + listing.prefixes.length,
      ContinuationToken: token ?? undefined,
      NextContinuationToken:
        listing.truncated && listing.last !== undefined
          ? Buffer.from(listing.last, "utf8").toString("base64url")
          : undefined,
      StartAfter: r.query.has("start-after") ? maybeEncode(startAfter, encode) : undefined,
      IsTruncated: listing.truncated,
      ...contentsXml(listing, encode),
    }),
  );
}

/** ListObjects (version 1, still used by s3cmd): prefix, delimiter, marker, max-keys. */
export async function listObjects(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const marker = r.query.get("marker") ?? "";
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, marker, maxKeys);
  sendXml(
    r.res,
    200,
    xmlDocument("ListBucketResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      Marker: maybeEncode(marker, encode),
      NextMarker:
        listing.truncated && listing.last !== undefined
          ? maybeEncode(listing.last, encode)
          : undefined,
      Delimiter: r.query.has("delimiter")
        ? maybeEncode(r.query.get("delimiter") ?? "", encode)
        : undefined,
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      IsTruncated: listing.truncated,
      ...contentsXml(listing, encode),
    }),
  );
}

// -------------------------------------------------------------------------------- multipart

/** CreateMultipartUpload. */
export async function createMultipartUpload(r: S3Request): Promise<void> {
  await readSmallBody(r.req, XML_BODY_LIMIT, r.signed);
  const upload = await r.store.createUpload(
    r.bucket,
    r.key,
    contentType(r.req),
    userMetadata(r.req),
  );
  sendXml(
    r.res,
    200,
    xmlDocument("InitiateMultipartUploadResult", {
      Bucket: r.bucket,
      Key: r.key,
      UploadId: upload.uploadId,
    }),
  );
}

function partNumberParam(r: S3Request): number {
  const raw = r.query.get("partNumber") ?? "";
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > S3_MULTIPART.maxParts) {
    throw new S3Error(
      "InvalidArgument",
      `Part number must be an integer between 1 and ${S3_MULTIPART.maxParts}, inclusive`,
      {
        ArgumentName: "partNumber",
        ArgumentValue: raw,
      },
    );
  }
  return n;
}

/** UploadPart: streamed to disk, any size up to 5 GiB. */
export async function uploadPart(r: S3Request): Promise<void> {
  if (r.req.headers["x-amz-copy-source"] !== undefined) {
    throw new S3Error("NotImplemented", "UploadPartCopy is not implemented by the local S3 server");
  }
  const partNumber = partNumberParam(r);
  const uploadId = r.query.get("uploadId") ?? "";
  r.store.getUpload(r.bucket, r.key, uploadId);
  const tmp = r.store.tempPath();
  const body = await receiveBody(r.req, tmp, {
    signed: r.signed,
    maxBytes: S3_MULTIPART.maxPartBytes,
  });
  const etag = quoted(body.md5);
  try {
    await r.store.putPart(
      r.bucket,
      r.key,
      uploadId,
      { partNumber, etag, size: body.size, lastModified: new Date().toISOString() },
      tmp,
    );
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendEmpty(r.res, 200, { ETag: etag, ...checksumHeader(body.checksum) });
}

/**
 * CompleteMultipartUpload: parts ascending (InvalidPartOrder), uploaded with the given ETag
 * (InvalidPart), ≥ 5 MiB except the last (EntityTooSmall). ETag: md5 of the part md5s, "-N".
 */
export async function completeMultipartUpload(r: S3Request): Promise<void> {
  const uploadId = r.query.get("uploadId") ?? "";
  const upload = r.store.getUpload(r.bucket, r.key, uploadId);
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
  const md5s = createHash("md5");
  for (const part of parts) md5s.update(Buffer.from(unquote(part.etag), "hex"));
  const etag = `"${md5s.digest("hex")}-${parts.length}"`;
  await r.store.completeUpload(upload, parts, etag);
  sendXml(
    r.res,
    200,
    xmlDocument("CompleteMultipartUploadResult", {
      Location: `http://${r.req.headers.host ?? "127.0.0.1"}/${r.bucket}/${encodeURIComponent(r.key).replace(/%2F/g, "/")}`,
      Bucket: r.bucket,
      Key: r.key,
      ETag: etag,
    }),
  );
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
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: isoSeconds(p.lastModified),
        ETag: p.etag,
        Size: p.size,
      })),
    }),
  );
}

/** The implementation of each operation. */
export const OPERATIONS: Record<S3Operation, (r: S3Request) => Promise<void>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  DeleteObjects: deleteObjects,
  ListObjectsV2: listObjectsV2,
  ListObjects: listObjects,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListMultipartUploads: listMultipartUploads,
  ListParts: listParts,
};
