/**
 * Reading objects: GetObject and HeadObject, with a byte Range or ?partNumber=N, the
 * conditional headers and response-* overrides; and the reader of an object's data segments.
 */
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { evaluateReadConditions } from "../conditions";
import { S3Error } from "../errors";
import type { ObjectMeta, Store } from "../store";
import { checksumHeader, partNumberParam, requireNullVersion, type S3Request } from "./request";

export interface ByteRange {
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

export async function* readSegments(
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
