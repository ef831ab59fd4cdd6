/**
 * AWS Signature Version 4 verification for S3 requests: header auth, presigned query auth and
 * the per-chunk signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors";
import { ALGORITHM, checkScope, headerValues, parseAuth } from "./sigv4-auth";

/** An access key pair the server accepts. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a verified request was signed with: needed to verify chunk signatures later. */
export interface SignedRequest {
  accessKeyId: string;
  /** x-amz-date / X-Amz-Date, e.g. 20250101T000000Z. */
  datetime: string;
  /** Credential scope, e.g. 20250101/us-east-1/s3/aws4_request. */
  scope: string;
  signingKey: Buffer;
  /** The request's signature (the seed of chunk signatures). */
  signature: string;
  /** The signed payload hash: hex, UNSIGNED-PAYLOAD or a STREAMING-* marker. */
  payloadHash: string;
}

const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
export function uriEncode(text: string, keepSlash = false): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The SigV4 signing key for a secret and a credential scope's date, region and service. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

function canonicalQuery(rawQuery: string, exclude?: string): string {
  if (rawQuery === "") return "";
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : safeDecode(part.slice(eq + 1));
    if (name === exclude) continue;
    pairs.push([uriEncode(name), uriEncode(value)]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * Verifies a request's SigV4 signature against the configured credentials.
 * Throws InvalidAccessKeyId for an unknown key and SignatureDoesNotMatch for a wrong secret.
 */
export function verifyRequest(
  req: IncomingMessage,
  credentials: Credentials,
  region: string,
): SignedRequest {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
  const auth = parseAuth(req, new URLSearchParams(rawQuery));
  if (auth.accessKeyId !== credentials.accessKeyId) {
    throw new S3Error(
      "InvalidAccessKeyId",
      "The AWS Access Key Id you provided does not exist in our records.",
      { AWSAccessKeyId: auth.accessKeyId },
    );
  }
  checkScope(auth, region);
  const key = signingKey(credentials.secretAccessKey, auth.date, auth.region, auth.service);
  const headers = auth.signedHeaders
    .map((name) => `${name}:${headerValues(req, name) ?? ""}\n`)
    .join("");
  const query = canonicalQuery(rawQuery, auth.presigned ? "X-Amz-Signature" : undefined);
  // Clients differ in which characters of the path they escape; S3 signs the path as sent,
  // and a normalised encoding is also accepted so that both spellings verify.
  const normalised = rawPath
    .split("/")
    .map((s) => uriEncode(safeDecode(s)))
    .join("/");
  const paths = normalised === rawPath ? [rawPath] : [rawPath, normalised];
  const given = Buffer.from(auth.signature, "utf8");
  let expected = "";
  for (const path of paths) {
    const canonical = [
      req.method ?? "GET",
      path,
      query,
      headers,
      auth.signedHeaders.join(";"),
      auth.payloadHash,
    ].join("\n");
    const stringToSign = [ALGORITHM, auth.datetime, auth.scope, sha256Hex(canonical)].join("\n");
    expected = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
    const want = Buffer.from(expected, "utf8");
    if (want.length === given.length && timingSafeEqual(want, given)) {
      return {
        accessKeyId: auth.accessKeyId,
        datetime: auth.datetime,
        scope: auth.scope,
        signingKey: key,
        signature: auth.signature,
        payloadHash: auth.payloadHash,
      };
    }
  }
  throw new S3Error(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    { AWSAccessKeyId: auth.accessKeyId },
  );
}

/**
 * The expected signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, chained
 * from the previous chunk's signature (the request signature for the first chunk).
 */
export function chunkSignature(
  signed: SignedRequest,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  const stringToSign = [
    "AWS4-HMAC-SHA256-PAYLOAD",
    signed.datetime,
    signed.scope,
    previousSignature,
    EMPTY_SHA256,
    chunkSha256Hex,
  ].join("\n");
  return createHmac("sha256", signed.signingKey).update(stringToSign, "utf8").digest("hex");
}
