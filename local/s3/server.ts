/**
 * The local S3-compatible server: node:http only, path-style, SigV4-verified, bodies streamed
 * to a data directory it owns. Start it with {@link startS3Server}; stop it with `stop()`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorXml, isS3Error, S3Error } from "./errors";
import { type FaultInjector, FaultRules, type S3Operation } from "./faults";
import { acquireHashPool, releaseHashPool } from "./hashing";
import { OPERATIONS } from "./operations";
import { verifyRequest } from "./sigv4";
import { Store } from "./store";

/** The credentials the server accepts unless told otherwise (documented in the README). */
export const DEFAULT_S3_CREDENTIALS = {
  accessKeyId: "S3INGESTLOCAL",
  secretAccessKey: "s3ingest-local-secret",
} as const;

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Where data lives; default a new temp dir, removed by stop() only if the server created it. */
  dataDir?: string;
  /** Port on 127.0.0.1; default 0 (an ephemeral port). */
  port?: number;
  /** Region reported to clients; default "us-east-1". */
  region?: string;
  /** The one access key accepted; default {@link DEFAULT_S3_CREDENTIALS}. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** A running server. */
export interface S3Server {
  /** "http://127.0.0.1:<port>" */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly dataDir: string;
  /** Fault injection for tests; no fault is active unless injected. */
  readonly faults: FaultInjector;
  /** Closes the listener and every open connection; idempotent. */
  stop(): Promise<void>;
}

interface Target {
  bucket: string;
  key: string;
  query: URLSearchParams;
}

function parseTarget(rawUrl: string): Target {
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  const rest = path.replace(/^\/+/, "");
  const slash = rest.indexOf("/");
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error("InvalidArgument", "The request path is not valid URL encoding");
    }
  };
  if (slash < 0) return { bucket: decode(rest), key: "", query };
  return { bucket: decode(rest.slice(0, slash)), key: decode(rest.slice(slash + 1)), query };
}

/** Maps method + path + query to the S3 operation, or throws NotImplemented/MethodNotAllowed. */
function operationOf(method: string, target: Target): S3Operation {
  const { bucket, key } = target;
  // The SDK tags requests with ?x-id=<Operation>; it carries no meaning for the server.
  const query = new URLSearchParams(target.query);
  query.delete("x-id");
  if (bucket === "") {
    if (method === "GET") return "ListBuckets";
  } else if (key === "") {
    switch (method) {
      case "PUT":
        if ([...query.keys()].length === 0) return "CreateBucket";
        break;
      case "HEAD":
        return "HeadBucket";
      case "DELETE":
        if ([...query.keys()].length === 0) return "DeleteBucket";
        break;
      case "POST":
        if (query.has("delete")) return "DeleteObjects";
        break;
      case "GET":
        if (query.has("uploads")) return "ListMultipartUploads";
        if (query.has("location")) return "GetBucketLocation";
        if (query.get("list-type") === "2") return "ListObjectsV2";
        if (
          [...query.keys()].every((k) =>
            ["prefix", "delimiter", "marker", "max-keys", "encoding-type"].includes(k),
          )
        ) {
          return "ListObjects";
        }
        break;
    }
  } else {
    switch (method) {
      case "PUT":
        if (query.has("uploadId") && query.has("partNumber")) return "UploadPart";
        if ([...query.keys()].length === 0) return "PutObject";
        break;
      case "GET":
        if (query.has("uploadId")) return "ListParts";
        return "GetObject";
      case "HEAD":
        return "HeadObject";
      case "DELETE":
        if (query.has("uploadId")) return "AbortMultipartUpload";
        return "DeleteObject";
      case "POST":
        if (query.has("uploads")) return "CreateMultipartUpload";
        if (query.has("uploadId")) return "CompleteMultipartUpload";
        break;
    }
  }
  const what = [...query.keys()].join("&");
  throw new S3Error(
    "NotImplemented",
    `${method} ${bucket === "" ? "/" : key === "" ? "bucket" : "object"}${what === "" ? "" : `?${what}`} is not implemented by the local S3 server`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Unread request body the server reads and discards before an error response. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads and discards what is left of a request body (up to {@link DRAIN_LIMIT}), so that the
 * error response is not lost to a TCP reset: closing a socket with unread data resets it.
 * Resolves true when the body was read to its end.
 */
function drain(req: IncomingMessage): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  return new Promise((resolve) => {
    let read = 0;
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > DRAIN_LIMIT) finish(false);
    };
    const finish = (complete: boolean): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onError);
      resolve(complete);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(req.complete);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onError);
    req.resume();
  });
}

async function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  requestId: string,
): Promise<void> {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const complete = await drain(req);
  if (res.destroyed) return;
  const body =
    req.method === "HEAD" ? "" : errorXml(error.code, error.message, requestId, error.details);
  const headers: Record<string, string | number> = {
    "Content-Type": "application/xml",
    "Content-Length": Buffer.byteLength(body),
  };
  for (const [name, value] of Object.entries(error.details)) {
    if (name === "ActualObjectSize") headers["Content-Range"] = `bytes */${value}`;
  }
  // A body not read to its end would otherwise be parsed as the next request.
  if (!complete) headers.Connection = "close";
  res.writeHead(error.status, headers);
  res.end(body);
}

/**
 * Starts the server on 127.0.0.1. Resolves once it listens; its data directory is created
 * (and its index loaded, so objects of an earlier run are served again).
 */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "s3-local-")));
  const region = options.region ?? "us-east-1";
  const credentials = { ...(options.credentials ?? DEFAULT_S3_CREDENTIALS) };
  const store = await Store.open(dataDir);
  const faults = new FaultRules();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    res.setHeader("x-amz-request-id", requestId);
    res.setHeader("Server", "s3-ingestion-experiment-local");
    try {
      const method = req.method ?? "GET";
      const target = parseTarget(req.url ?? "/");
      const operation = operationOf(method, target);
      const decision = faults.decide(operation);
      if (decision.latencyMs > 0) await sleep(decision.latencyMs);
      if (decision.fail?.action === "drop") {
        req.socket.destroy();
        return;
      }
      if (decision.fail !== undefined) {
        throw new S3Error(
          decision.fail.code ?? "InternalError",
          "Injected fault: We encountered an internal error. Please try again.",
          {},
          decision.fail.status ?? 500,
        );
      }
      const signed = verifyRequest(req, credentials);
      await OPERATIONS[operation]({
        req,
        res,
        operation,
        bucket: target.bucket,
        key: target.key,
        query: target.query,
        signed,
        store,
        region,
      });
    } catch (e: unknown) {
      if (isS3Error(e)) {
        await sendError(req, res, e, requestId);
        return;
      }
      // A client that went away mid-body is not a server error worth a response.
      if (req.destroyed || res.destroyed) return;
      const message = e instanceof Error ? e.message : String(e);
      await sendError(req, res, new S3Error("InternalError", message), requestId);
    }
  };

  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  acquireHashPool();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await releaseHashPool();
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region,
    credentials,
    dataDir,
    faults,
    stop,
  };
}
