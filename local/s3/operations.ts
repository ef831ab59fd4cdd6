/**
 * The S3 operations: one function per operation, each given the parsed request and the store.
 * Path-style addressing only: /<bucket>/<key>.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { S3_MULTIPART } from "../../core/constants";
import { readSmallBody, receiveBody } from "./body";
import {
  type ChecksumAlgorithm,
  combineCrcs,
  compositeChecksum,
  createChecksum,
  isChecksumAlgorithm,
  isCrcAlgorithm,
} from "./checksums";
import {
  checkCopySourceConditions,
  checkWriteConditions,
  evaluateReadConditions,
} from "./conditions";
import { S3Error } from "./errors";
import type { S3Operation } from "./faults";
import type { SignedRequest } from "./sigv4";
import type { ObjectMeta, PartMeta, Store, UploadMeta } from "./store";
import {
  type CompletedPart,
  parseCompleteMultipartUpload,
  parseDeleteObjects,
  type XmlNode,
  xmlDocument,
} from "./xml";

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

/** The system metadata S3 stores from a write and returns on GET/HEAD, lower-case names. */
const STORED_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
] as const;

/** The system metadata of a write; Content-Encoding without the aws-chunked transfer coding. */
function systemHeaders(req: IncomingMessage): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let value = req.headers[name];
    if (typeof value !== "string") continue;
    if (name === "content-encoding") {
      value = value
        .split(",")
        .map((e) => e.trim())
        .filter((e) => e !== "" && e !== "aws-chunked")
        .join(",");
      if (value === "") continue;
    }
    headers[name] = value;
  }
  return Object.keys(headers).length === 0 ? undefined : headers;
}

/** Refuses a versionId other than "null": buckets here are never versioned. */
function requireNullVersion(r: S3Request): void {
  const versionId = r.query.get("versionId");
  if (versionId !== null && versionId !== "null") {
    throw new S3Error("InvalidArgument", "Invalid version id specified", {
      ArgumentName: "versionId",
      ArgumentValue: versionId,
    });
  }
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

/** GetBucketVersioning: buckets here are never versioned, so the configuration has no Status. */
export async function getBucketVersioning(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  sendXml(r.res, 200, xmlDocument("VersioningConfiguration", {}));
}

/** DeleteBucket: only an empty bucket (no objects, no unfinished uploads). */
export async function deleteBucket(r: S3Request): Promise<void> {
  await r.store.deleteBucket(r.bucket);
  sendEmpty(r.res, 204);
}

// ---------------------------------------------------------------------------------- objects

/**
 * Runs a commit under the request's write conditions (If-None-Match / If-Match): checked, then
 * the key claimed until the commit ends, so that of concurrent conditional writes one wins and
 * the others get 412 (or 409 ConditionalRequestConflict while the winner is committing).
 */
async function commitConditionally<T>(r: S3Request, commit: () => Promise<T>): Promise<T> {
  checkWriteConditions(r.req, r.store.findObject(r.bucket, r.key), r.key);
  if (r.req.headers["if-none-match"] === undefined && r.req.headers["if-match"] === undefined) {
    return commit();
  }
  const release = r.store.claimKey(r.bucket, r.key);
  try {
    return await commit();
  } finally {
    release();
  }
}

/**
 * PutObject: the body streams to a temp file, is verified, then committed. If-None-Match: * and
 * If-Match are checked before the body is read and again before the commit.
 */
export async function putObject(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  checkWriteConditions(r.req, r.store.findObject(r.bucket, r.key), r.key);
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
  const headers = systemHeaders(r.req);
  if (headers !== undefined) meta.headers = headers;
  // A single-part object's checksum is of the whole object (S3: type FULL_OBJECT).
  if (body.checksum !== undefined) meta.checksum = { ...body.checksum, type: "FULL_OBJECT" };
  try {
    await commitConditionally(r, () =>
      r.store.putObject(r.bucket, meta, [{ path: tmp, size: body.size }]),
    );
  } catch (e: unknown) {
    await r.store.discard(tmp);
    throw e;
  }
  sendEmpty(r.res, 200, {
    ETag: etag,
    ...checksumHeader(body.checksum),
    ...(body.checksum === undefined ? {} : { "x-amz-checksum-type": "FULL_OBJECT" }),
  });
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
  for (const [name, value] of Object.entries(meta.headers ?? {})) headers[name] = value;
  for (const [name, value] of Object.entries(meta.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

/** Parts of a multipart object (its ETag ends in -N), else undefined. */
function partsCount(meta: ObjectMeta): number | undefined {
  return /-\d+"$/.test(meta.etag) ? meta.segments.length : undefined;
}

/**
 * The byte span of ?partNumber=N: 416 InvalidPartNumber beyond the object's parts (a plain
 * object has one part, itself); 400 with a Range header as well.
 */
function partSpan(r: S3Request, meta: ObjectMeta): ByteRange | undefined {
  if (!r.query.has("partNumber")) return undefined;
  const n = partNumberParam(r);
  if (r.req.headers.range !== undefined) {
    throw new S3Error(
      "InvalidRequest",
      "Cannot specify both Range header and partNumber query parameter",
    );
  }
  const count = partsCount(meta) ?? 1;
  if (n > count) {
    throw new S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", {
      PartNumberRequested: String(n),
      ActualPartCount: String(count),
    });
  }
  if (partsCount(meta) === undefined) return { start: 0, end: meta.size - 1 };
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += meta.segments[i]?.size ?? 0;
  return { start, end: start + (meta.segments[n - 1]?.size ?? 0) - 1 };
}

/** GetObject's response-* query parameters and the header each one sets. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  "response-cache-control": "Cache-Control",
  "response-content-disposition": "Content-Disposition",
  "response-content-encoding": "Content-Encoding",
  "response-content-language": "Content-Language",
  "response-content-type": "Content-Type",
  "response-expires": "Expires",
};

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

/**
 * GetObject and HeadObject: a single byte Range or ?partNumber=N (206), the conditional headers
 * (304/412), response-* overrides.
 */
async function getOrHead(r: S3Request, withBody: boolean): Promise<void> {
  requireNullVersion(r);
  const meta = r.store.getObject(r.bucket, r.key);
  const headers = objectHeaders(meta);
  const condition = evaluateReadConditions(r.req, meta);
  if (condition === "not-modified") {
    r.res.writeHead(304, { ETag: meta.etag, "Last-Modified": headers["Last-Modified"] ?? "" });
    r.res.end();
    return;
  }
  const byPart = partSpan(r, meta);
  const range = byPart ?? parseRange(r.req.headers.range, meta.size);
  if (byPart !== undefined) {
    const count = partsCount(meta);
    if (count !== undefined) headers["x-amz-mp-parts-count"] = String(count);
  }
  if (
    meta.checksum !== undefined &&
    (range === undefined || (byPart !== undefined && partsCount(meta) === undefined)) &&
    r.req.headers["x-amz-checksum-mode"] === "ENABLED"
  ) {
    Object.assign(headers, checksumHeader(meta.checksum));
    if (meta.checksum.type !== undefined) headers["x-amz-checksum-type"] = meta.checksum.type;
  }
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = r.query.get(param);
    if (value !== null) headers[header] = value;
  }
  const span = range ?? { start: 0, end: meta.size - 1 };
  const length = meta.size === 0 ? 0 : span.end - span.start + 1;
  headers["Content-Length"] = String(length);
  if (range !== undefined && meta.size > 0)
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

/**
 * GetObjectTagging: objects here never have tags (PutObjectTagging answers 501), so the tag set
 * is empty; aws-cli asks for it before copying an object in parts.
 */
export async function getObjectTagging(r: S3Request): Promise<void> {
  requireNullVersion(r);
  r.store.getObject(r.bucket, r.key);
  sendXml(r.res, 200, xmlDocument("Tagging", { TagSet: {} }));
}

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(r: S3Request): Promise<void> {
  requireNullVersion(r);
  await r.store.deleteObject(r.bucket, r.key);
  sendEmpty(r.res, 204);
}

/** DeleteObjects (aws s3 rm --recursive uses it). */
export async function deleteObjects(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const { objects, quiet } = parseDeleteObjects(
    await readSmallBody(r.req, XML_BODY_LIMIT, r.signed),
  );
  const deleted: XmlNode[] = [];
  const errors: XmlNode[] = [];
  for (const { key, versionId } of objects) {
    if (versionId !== undefined && versionId !== "null") {
      errors.push({
        Key: key,
        VersionId: versionId,
        Code: "NoSuchVersion",
        Message: "The specified version does not exist.",
      });
      continue;
    }
    await r.store.deleteObject(r.bucket, key);
    deleted.push({ Key: key, VersionId: versionId });
  }
  sendXml(
    r.res,
    200,
    xmlDocument("DeleteResult", { Deleted: quiet ? [] : deleted, Error: errors }),
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
  // max-keys=0 asks for nothing, and nothing is left out (S3: IsTruncated false).
  if (maxKeys === 0) return listing;
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

function contentsXml(listing: Listing, encode: boolean, owner: boolean): XmlNode {
  return {
    Contents: listing.contents.map((m) => ({
      Key: maybeEncode(m.key, encode),
      LastModified: isoSeconds(m.lastModified),
      ETag: m.etag,
      ...checksumAlgorithmXml(m),
      Size: m.size,
      Owner: owner ? { ...OWNER } : undefined,
      StorageClass: "STANDARD",
    })),
    CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: maybeEncode(p, encode) })),
  };
}

/** A listed object's ChecksumAlgorithm element, when it has a checksum. */
function checksumAlgorithmXml(meta: ObjectMeta): XmlNode {
  return meta.checksum === undefined
    ? {}
    : { ChecksumAlgorithm: meta.checksum.algorithm.toUpperCase() };
}

/** The Delimiter element: echoed when given and not empty. */
function delimiterXml(r: S3Request, encode: boolean): string | undefined {
  const delimiter = r.query.get("delimiter") ?? "";
  return delimiter === "" ? undefined : maybeEncode(delimiter, encode);
}

/** ListObjectsV2: prefix, delimiter, max-keys, continuation-token, start-after, fetch-owner. */
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
      Delimiter: delimiterXml(r, encode),
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
      ...contentsXml(listing, encode, r.query.get("fetch-owner") === "true"),
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
      // Only with a delimiter, as S3 documents (without one the last Key is the next marker).
      NextMarker:
        listing.truncated && listing.last !== undefined && (r.query.get("delimiter") ?? "") !== ""
          ? maybeEncode(listing.last, encode)
          : undefined,
      Delimiter: delimiterXml(r, encode),
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      IsTruncated: listing.truncated,
      ...contentsXml(listing, encode, true),
    }),
  );
}

/**
 * ListObjectVersions of a bucket that is never versioned: every object is its one version,
 * VersionId "null" and latest (bucket-emptying tools list versions before deleting).
 */
export async function listObjectVersions(r: S3Request): Promise<void> {
  r.store.requireBucket(r.bucket);
  const maxKeys = intParam(r.query, "max-keys", 1000, 1000);
  const keyMarker = r.query.get("key-marker") ?? "";
  const encode = r.query.get("encoding-type") === "url";
  const listing = listKeys(r, keyMarker, maxKeys);
  const truncated = listing.truncated && listing.last !== undefined;
  sendXml(
    r.res,
    200,
    xmlDocument("ListVersionsResult", {
      Name: r.bucket,
      Prefix: maybeEncode(r.query.get("prefix") ?? "", encode),
      KeyMarker: maybeEncode(keyMarker, encode),
      VersionIdMarker: r.query.get("version-id-marker") ?? "",
      NextKeyMarker: truncated ? maybeEncode(listing.last ?? "", encode) : undefined,
      NextVersionIdMarker: truncated ? "null" : undefined,
      Delimiter: delimiterXml(r, encode),
      MaxKeys: maxKeys,
      EncodingType: encode ? "url" : undefined,
      IsTruncated: listing.truncated,
      Version: listing.contents.map((m) => ({
        Key: maybeEncode(m.key, encode),
        VersionId: "null",
        IsLatest: true,
        LastModified: isoSeconds(m.lastModified),
        ETag: m.etag,
        ...checksumAlgorithmXml(m),
        Size: m.size,
        Owner: { ...OWNER },
        StorageClass: "STANDARD",
      })),
      CommonPrefixes: listing.prefixes.map((p) => ({ Prefix: maybeEncode(p, encode) })),
    }),
  );
}

// -------------------------------------------------------------------------------- multipart

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

// ------------------------------------------------------------------------------------ copy

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
  UploadPartCopy: uploadPartCopy,
  CopyObject: copyObject,
  ListObjectVersions: listObjectVersions,
  GetObjectTagging: getObjectTagging,
  GetBucketVersioning: getBucketVersioning,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListMultipartUploads: listMultipartUploads,
  ListParts: listParts,
};
