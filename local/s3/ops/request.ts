/**
 * What every S3 operation shares: the routed request, response writers, request metadata
 * (user and system headers), query parameter parsing, ETag quoting and conditional commits.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { S3_MULTIPART } from "../../../core/constants";
import { checkWriteConditions } from "../conditions";
import { S3Error } from "../errors";
import type { S3Operation } from "../faults";
import type { SignedRequest } from "../sigv4";
import type { Store } from "../store";

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

export const OWNER = { ID: "s3ingestlocal", DisplayName: "s3-ingestion-experiment" } as const;
/** Largest CompleteMultipartUpload / Delete document accepted. */
export const XML_BODY_LIMIT = 4 * 1024 * 1024;

export function sendXml(res: ServerResponse, status: number, xml: string): void {
  const body = Buffer.from(xml, "utf8");
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": body.length });
  res.end(body);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, "Content-Length": 0 });
  res.end();
}

export function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") {
      metadata[name.slice("x-amz-meta-".length)] = value;
    }
  }
  return metadata;
}

export function contentType(req: IncomingMessage): string {
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
export function systemHeaders(req: IncomingMessage): Record<string, string> | undefined {
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
export function requireNullVersion(r: S3Request): void {
  const versionId = r.query.get("versionId");
  if (versionId !== null && versionId !== "null") {
    throw new S3Error("InvalidArgument", "Invalid version id specified", {
      ArgumentName: "versionId",
      ArgumentValue: versionId,
    });
  }
}

export function quoted(md5: Buffer): string {
  return `"${md5.toString("hex")}"`;
}

export function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, "");
}

export function intParam(
  query: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
): number {
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
export function maybeEncode(text: string, encode: boolean): string {
  return encode ? encodeURIComponent(text).replace(/%2F/g, "/") : text;
}

export function isoSeconds(iso: string): string {
  return new Date(iso).toISOString();
}

/** The `x-amz-checksum-<algorithm>` response header of a verified checksum, if there is one. */
export function checksumHeader(
  checksum: { readonly algorithm: string; readonly value: string } | undefined,
): Record<string, string> {
  return checksum === undefined ? {} : { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value };
}

/** The ?partNumber=N of a request: 1 to 10,000, else InvalidArgument. */
export function partNumberParam(r: S3Request): number {
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

/**
 * Runs a commit under the request's write conditions (If-None-Match / If-Match): checked, then
 * the key claimed until the commit ends, so that of concurrent conditional writes one wins and
 * the others get 412 (or 409 ConditionalRequestConflict while the winner is committing).
 */
export async function commitConditionally<T>(r: S3Request, commit: () => Promise<T>): Promise<T> {
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
