import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { type IncomingHttpHeaders, request } from "node:http";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Test } from "tap";
import { type S3Server, type S3ServerOptions, startS3Server } from "../../local/s3/server";

/** An SDK client for the local S3 server: path-style, its credentials, no retries (a test sees every answer). */
export function s3ClientFor(
  server: S3Server,
  credentials: { accessKeyId: string; secretAccessKey: string } = server.credentials,
): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

/**
 * Starts a local S3 server with one bucket and a client for it, both torn down when the test
 * ends.
 */
export async function serverWithBucket(
  t: Test,
  bucket: string,
  options: S3ServerOptions = {},
): Promise<{ server: S3Server; s3: S3Client }> {
  const server = await startS3Server(options);
  const s3 = s3ClientFor(server);
  t.teardown(async () => {
    s3.destroy();
    await server.stop();
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { server, s3 };
}

/** The error name and HTTP status an SDK request failed with; throws if it succeeded. */
export async function errorOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (e: unknown) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name ?? "?", status: err.$metadata?.httpStatusCode };
  }
  throw new Error("expected the request to fail");
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 and HMAC-SHA256 as the smithy signer wants them (node's crypto). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/** One raw request to the server, signed by the SDK's own SigV4 signer unless told otherwise. */
export interface RawRequest {
  method: string;
  /** Path as sent, already URL-encoded: "/bucket/key". */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Credential scope region / service; default the server's region and "s3". */
  region?: string;
  service?: string;
  /** The signing time; default now. */
  signingDate?: Date;
  /** "header" (default), "presign" (X-Amz-* query parameters), "date-header" (HTTP Date, no x-amz-date), "none". */
  auth?: "header" | "presign" | "date-header" | "none";
  /** X-Amz-Expires of a presigned request, seconds (default 900). */
  expiresIn?: number;
  /** Rewrites the query after signing (to send what a signer refuses to produce). */
  tamperQuery?: (query: Record<string, string>) => void;
}

/** What the server answered. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryString(query: Record<string, string>): string {
  const pairs = Object.entries(query).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`);
  return pairs.length === 0 ? "" : `?${pairs.join("&")}`;
}

/** Signs with the HTTP Date header and no x-amz-date (written out here: no SDK signer does it). */
function signWithDateHeader(
  server: S3Server,
  req: RawRequest,
  headers: Record<string, string>,
  payloadHash: string,
): void {
  const when = req.signingDate ?? new Date();
  const datetime = when
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = datetime.slice(0, 8);
  headers.date = when.toUTCString();
  const names = Object.keys(headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalQuery = Object.entries(req.query ?? {})
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join("&");
  const canonical = [
    req.method,
    req.path,
    canonicalQuery,
    names.map((n) => `${n}:${String(lower[n]).trim()}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${req.region ?? server.region}/${req.service ?? "s3"}/aws4_request`;
  const toSign = [
    "AWS4-HMAC-SHA256",
    datetime,
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  let key: Buffer = createHmac("sha256", `AWS4${server.credentials.secretAccessKey}`)
    .update(day)
    .digest();
  for (const part of [req.region ?? server.region, req.service ?? "s3", "aws4_request"]) {
    key = createHmac("sha256", key).update(part).digest();
  }
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${server.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
}

/** Signs (per `auth`) and sends one request on a fresh connection; resolves with the answer. */
export async function rawRequest(server: S3Server, req: RawRequest): Promise<RawResponse> {
  return sendRaw(server, await signRequest(server, req));
}

/** The request line's path (with query), headers and body of a request signed per `auth`. */
export async function signRequest(
  server: S3Server,
  req: RawRequest,
): Promise<{ method: string; path: string; headers: Record<string, string>; body: Buffer }> {
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
  const host = new URL(server.endpoint).host;
  const payloadHash = createHash("sha256").update(body).digest("hex");
  const headers: Record<string, string> = {
    host,
    ...(req.headers ?? {}),
  };
  if (body.length > 0 || ["PUT", "POST"].includes(req.method)) {
    headers["content-length"] = String(body.length);
  }
  let query = { ...(req.query ?? {}) };
  const auth = req.auth ?? "header";
  if (auth === "date-header") {
    headers["x-amz-content-sha256"] = payloadHash;
    signWithDateHeader(server, req, headers, payloadHash);
  } else if (auth !== "none") {
    const signer = new SignatureV4({
      credentials: server.credentials,
      region: req.region ?? server.region,
      service: req.service ?? "s3",
      sha256: NodeSha256,
      uriEscapePath: false,
    });
    const request = {
      method: req.method,
      protocol: "http:",
      hostname: "127.0.0.1",
      port: server.port,
      path: req.path,
      query,
      // As the SDK's presigner: an unsigned payload, said by X-Amz-Content-Sha256 (hoisted into the query).
      headers: {
        ...headers,
        "x-amz-content-sha256": auth === "presign" ? "UNSIGNED-PAYLOAD" : payloadHash,
      },
      body,
    };
    const signingDate = req.signingDate ?? new Date();
    const signed =
      auth === "presign"
        ? await signer.presign(request, {
            expiresIn: req.expiresIn ?? 900,
            signingDate,
            unhoistableHeaders: new Set(Object.keys(headers)),
          })
        : await signer.sign(request, { signingDate });
    query = { ...(signed.query as Record<string, string>) };
    Object.assign(headers, signed.headers);
  }
  req.tamperQuery?.(query);
  return { method: req.method, path: `${req.path}${queryString(query)}`, headers, body };
}

/** Sends a request exactly as given (no signing) and collects the answer. */
export function sendRaw(
  server: S3Server,
  req: { method: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.endpoint}${req.path}`,
      { method: req.method, headers: req.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(req.body);
  });
}

/** The <Code> of an S3 error document, or "" when there is none. */
export function codeOf(body: string): string {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? "";
}
