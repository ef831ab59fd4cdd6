/**
 * Conditional requests as S3 evaluates them: If-Match / If-None-Match / If-Modified-Since /
 * If-Unmodified-Since on GET and HEAD (412 or 304), If-None-Match: * and If-Match on writes, and
 * the x-amz-copy-source-if-* headers of a copy.
 */
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors";
import type { ObjectMeta } from "./store";

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** True when an If-Match / If-None-Match list names the ETag ("*" names any). */
function matches(list: string, etag: string): boolean {
  const bare = etag.replace(/^"|"$/g, "");
  return list
    .split(",")
    .map((t) => t.trim().replace(/^W\//, "").replace(/^"|"$/g, ""))
    .some((t) => t === "*" || t === bare);
}

/** Last-Modified to the second, as HTTP dates carry it. */
function modifiedSeconds(meta: ObjectMeta): number {
  return Math.floor(Date.parse(meta.lastModified) / 1000);
}

/** An HTTP date in seconds, or undefined when absent or not a date (then ignored, as S3 does). */
function dateSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
    { Condition: condition },
  );
}

/**
 * The conditional headers of a GET/HEAD against the object: "not-modified" for a 304, "ok" to
 * serve it; throws 412 PreconditionFailed. As S3 documents: If-Match true makes a false
 * If-Unmodified-Since irrelevant, and If-None-Match decides over If-Modified-Since.
 */
export function evaluateReadConditions(
  req: IncomingMessage,
  meta: ObjectMeta,
): "ok" | "not-modified" {
  const ifMatch = header(req, "if-match");
  const ifNoneMatch = header(req, "if-none-match");
  const modified = modifiedSeconds(meta);
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, meta.etag)) throw preconditionFailed("If-Match");
  } else {
    const since = dateSeconds(header(req, "if-unmodified-since"));
    if (since !== undefined && modified > since) throw preconditionFailed("If-Unmodified-Since");
  }
  if (ifNoneMatch !== undefined) return matches(ifNoneMatch, meta.etag) ? "not-modified" : "ok";
  const since = dateSeconds(header(req, "if-modified-since"));
  if (since !== undefined && modified <= since) return "not-modified";
  return "ok";
}

/**
 * The conditions of a write (PutObject, CompleteMultipartUpload): If-None-Match: * fails (412)
 * when the key exists; If-Match fails when the key's ETag differs (412) or it is missing (404).
 */
export function checkWriteConditions(
  req: IncomingMessage,
  existing: ObjectMeta | undefined,
  key: string,
): void {
  const ifNoneMatch = header(req, "if-none-match");
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") {
      throw new S3Error(
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        { Header: "If-None-Match" },
      );
    }
    if (existing !== undefined) throw preconditionFailed("If-None-Match");
  }
  const ifMatch = header(req, "if-match");
  if (ifMatch !== undefined) {
    if (existing === undefined) {
      throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: key });
    }
    if (!matches(ifMatch, existing.etag)) throw preconditionFailed("If-Match");
  }
}

/** The x-amz-copy-source-if-* headers of CopyObject / UploadPartCopy against the source: 412. */
export function checkCopySourceConditions(req: IncomingMessage, source: ObjectMeta): void {
  const ifMatch = header(req, "x-amz-copy-source-if-match");
  const ifNoneMatch = header(req, "x-amz-copy-source-if-none-match");
  const modified = modifiedSeconds(source);
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, source.etag)) throw preconditionFailed("x-amz-copy-source-If-Match");
  } else {
    const since = dateSeconds(header(req, "x-amz-copy-source-if-unmodified-since"));
    if (since !== undefined && modified > since) {
      throw preconditionFailed("x-amz-copy-source-If-Unmodified-Since");
    }
  }
  if (ifNoneMatch !== undefined) {
    if (matches(ifNoneMatch, source.etag)) {
      throw preconditionFailed("x-amz-copy-source-If-None-Match");
    }
  } else {
    const since = dateSeconds(header(req, "x-amz-copy-source-if-modified-since"));
    if (since !== undefined && modified <= since) {
      throw preconditionFailed("x-amz-copy-source-If-Modified-Since");
    }
  }
}
