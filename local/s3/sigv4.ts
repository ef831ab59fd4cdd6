/**
 * AWS Signature Version 4 verification for S3 requests: header auth, presigned query auth and
 * the per-chunk signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors";

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

const ALGORITHM = "AWS4-HMAC-SHA256";
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

function headerValues(req: IncomingMessage, name: string): string | undefined {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) values.push((raw[i + 1] ?? "").trim().replace(/\s+/g, " "));
  }
  return values.length === 0 ? undefined : values.join(",");
}

interface ParsedAuth {
  accessKeyId: string;
  scope: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  datetime: string;
  payloadHash: string;
  /** Raw query without the signature, for presigned requests. */
  presigned: boolean;
}

function malformed(message: string): S3Error {
  return new S3Error("AccessDenied", `Malformed authorization: ${message}`);
}

/** Longest validity of a presigned URL, seconds (seven days, as on S3). */
export const MAX_PRESIGNED_EXPIRES_S = 604_800;
/** Largest difference between a request's time and the server's that S3 accepts. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

function queryError(message: string): S3Error {
  return new S3Error("AuthorizationQueryParametersError", message);
}

/** Milliseconds of an ISO 8601 basic timestamp (20250101T000000Z), or undefined. */
function parseAmzDate(datetime: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(datetime);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The request's timestamp in ISO 8601 basic format: x-amz-date, or else the HTTP Date header
 * (S3 accepts either; the string to sign then carries the Date converted to this format).
 */
function requestDatetime(req: IncomingMessage): string {
  const amz = headerValues(req, "x-amz-date");
  if (amz !== undefined) {
    if (parseAmzDate(amz) === undefined) throw malformed("x-amz-date is malformed");
    return amz;
  }
  const date = headerValues(req, "date");
  const ms = date === undefined ? Number.NaN : Date.parse(date);
  if (Number.isNaN(ms)) {
    throw new S3Error(
      "AccessDenied",
      "AWS authentication requires a valid Date or x-amz-date header",
    );
  }
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * Checks the credential scope against the server: its date is the request's, its region the
 * server's and its service s3 (AuthorizationHeaderMalformed, or for presigned URLs
 * AuthorizationQueryParametersError), and the request time is within 15 minutes of the clock.
 */
function checkScope(auth: ParsedAuth, region: string): void {
  const fail = (reason: string, details: Record<string, string> = {}): S3Error =>
    auth.presigned
      ? new S3Error(
          "AuthorizationQueryParametersError",
          `Error parsing the X-Amz-Credential parameter; ${reason}`,
          details,
        )
      : new S3Error(
          "AuthorizationHeaderMalformed",
          `The authorization header is malformed; ${reason}`,
          details,
        );
  if (auth.date !== auth.datetime.slice(0, 8)) {
    throw fail(
      `Invalid credential date "${auth.date}". This date is not the same as X-Amz-Date: "${auth.datetime.slice(0, 8)}".`,
    );
  }
  if (auth.region !== region) {
    throw fail(`the region '${auth.region}' is wrong; expecting '${region}'`, { Region: region });
  }
  if (auth.service !== "s3") {
    throw fail(`incorrect service '${auth.service}'. This endpoint belongs to 's3'.`);
  }
  if (auth.presigned) return;
  const at = parseAmzDate(auth.datetime) ?? 0;
  const now = Date.now();
  if (Math.abs(now - at) > MAX_SKEW_MS) {
    throw new S3Error(
      "RequestTimeTooSkewed",
      "The difference between the request time and the current time is too large.",
      {
        RequestTime: new Date(at).toISOString(),
        ServerTime: new Date(now).toISOString(),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      },
    );
  }
}

function parseCredential(
  credential: string,
): Pick<ParsedAuth, "accessKeyId" | "scope" | "date" | "region" | "service"> {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request")
    throw malformed(`credential ${credential}`);
  const [accessKeyId = "", date = "", region = "", service = ""] = parts;
  return { accessKeyId, date, region, service, scope: parts.slice(1).join("/") };
}

function parseAuth(req: IncomingMessage, query: URLSearchParams): ParsedAuth {
  const header = req.headers.authorization;
  if (header !== undefined) {
    if (!header.startsWith(`${ALGORITHM} `)) {
      throw new S3Error(
        "InvalidRequest",
        "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported",
      );
    }
    const fields = new Map<string, string>();
    for (const item of header.slice(ALGORITHM.length + 1).split(",")) {
      const eq = item.indexOf("=");
      if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
    }
    const credential = fields.get("Credential");
    const signed = fields.get("SignedHeaders");
    const signature = fields.get("Signature");
    if (credential === undefined || signed === undefined || signature === undefined) {
      throw malformed("Credential, SignedHeaders and Signature are required");
    }
    const datetime = requestDatetime(req);
    const payloadHash = headerValues(req, "x-amz-content-sha256");
    if (payloadHash === undefined) {
      throw new S3Error(
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
      );
    }
    return {
      ...parseCredential(credential),
      signedHeaders: signed.split(";"),
      signature,
      datetime,
      payloadHash,
      presigned: false,
    };
  }
  if (query.get("X-Amz-Algorithm") === ALGORITHM) {
    const credential = query.get("X-Amz-Credential");
    const datetime = query.get("X-Amz-Date");
    const signedHeaders = query.get("X-Amz-SignedHeaders");
    const signature = query.get("X-Amz-Signature");
    if (credential === null || datetime === null || signedHeaders === null || signature === null) {
      throw queryError(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
      );
    }
    const rawExpires = query.get("X-Amz-Expires") ?? "";
    if (!/^-?\d+$/.test(rawExpires)) throw queryError("X-Amz-Expires should be a number");
    const expires = Number(rawExpires);
    if (expires < 0) throw queryError("X-Amz-Expires must be non-negative");
    if (expires > MAX_PRESIGNED_EXPIRES_S) {
      throw queryError(
        `X-Amz-Expires must be less than a week (in seconds) that is; the given X-Amz-Expires must be less than ${MAX_PRESIGNED_EXPIRES_S} seconds`,
      );
    }
    const issued = parseAmzDate(datetime);
    if (issued === undefined) {
      throw queryError(
        `Invalid date format of header: X-Amz-Date must be in ISO 8601 format: ${datetime}`,
      );
    }
    if (issued > Date.now() + MAX_SKEW_MS)
      throw new S3Error("AccessDenied", "Request is not valid yet");
    if (Date.now() > issued + expires * 1000)
      throw new S3Error("AccessDenied", "Request has expired", {
        "X-Amz-Expires": String(expires),
        Expires: new Date(issued + expires * 1000).toISOString(),
        ServerTime: new Date().toISOString(),
      });
    return {
      ...parseCredential(credential),
      signedHeaders: signedHeaders.split(";"),
      signature,
      datetime,
      payloadHash:
        headerValues(req, "x-amz-content-sha256") ??
        query.get("X-Amz-Content-Sha256") ??
        "UNSIGNED-PAYLOAD",
      presigned: true,
    };
  }
  throw new S3Error("AccessDenied", "Access Denied: the request is not signed");
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
