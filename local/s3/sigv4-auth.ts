/**
 * The authentication a SigV4 request carries (Authorization header or presigned X-Amz-* query
 * parameters), parsed and checked against the server's clock, region and service, before its
 * signature is verified (sigv4.ts).
 */
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors";

/** The one signing algorithm accepted. */
export const ALGORITHM = "AWS4-HMAC-SHA256";

/** A header's values as SigV4 canonicalises them: trimmed, inner spaces folded, joined by ",". */
export function headerValues(req: IncomingMessage, name: string): string | undefined {
  const values: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) values.push((raw[i + 1] ?? "").trim().replace(/\s+/g, " "));
  }
  return values.length === 0 ? undefined : values.join(",");
}

/** What a request's authentication says. */
export interface ParsedAuth {
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
export function checkScope(auth: ParsedAuth, region: string): void {
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

/** The authentication of a request, from its Authorization header or presigned query; AccessDenied when it has none. */
export function parseAuth(req: IncomingMessage, query: URLSearchParams): ParsedAuth {
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
