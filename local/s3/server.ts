/**
 * The local S3-compatible server: node:http only, path-style, SigV4-verified, bodies streamed
 * to a data directory it owns. Start it with {@link startS3Server}; stop it with `stop()`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
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
  /** Where unexpected errors and skipped files are reported; default stderr. */
  log?: (line: string) => void;
  /**
   * A connection with no traffic for this long is closed (a body that stopped arriving is
   * answered 400 RequestTimeout first); default {@link DEFAULT_IDLE_TIMEOUT_MS}.
   */
  idleTimeoutMs?: number;
  /** Time a client has to send a request's headers; default {@link DEFAULT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
}

/** Default idle timeout of a connection (no bytes either way), milliseconds. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Default time to receive a request's headers, milliseconds. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
/** An idle keep-alive connection is closed after this long (or the idle timeout, if shorter). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** Longest key S3 accepts, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

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
  /** Connections currently open (tests use it to see idle ones closed). */
  openConnections(): Promise<number>;
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

/**
 * Query parameters that say nothing about the operation: the SDK's ?x-id=<Operation> tag and
 * presigned-URL authentication (X-Amz-Algorithm, X-Amz-Credential, …, and the x-amz-* headers a
 * presigner hoists into the query).
 */
function isNeutralParam(name: string): boolean {
  return name === "x-id" || /^x-amz-/i.test(name);
}

/** GetObject/HeadObject's response header overrides. */
const RESPONSE_OVERRIDES = [
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
];

/**
 * For each operation, the query parameters it takes: a request with any other parameter is a
 * sub-resource this server does not implement (501), never the plain operation.
 */
const OPERATION_PARAMS: Partial<Record<S3Operation, readonly string[]>> = {
  ListBuckets: ["max-buckets", "continuation-token", "prefix", "bucket-region"],
  ListObjects: ["prefix", "delimiter", "marker", "max-keys", "encoding-type"],
  ListObjectsV2: [
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "encoding-type",
    "continuation-token",
    "fetch-owner",
    "start-after",
  ],
  ListObjectVersions: [
    "versions",
    "prefix",
    "delimiter",
    "key-marker",
    "version-id-marker",
    "max-keys",
    "encoding-type",
  ],
  ListMultipartUploads: [
    "uploads",
    "prefix",
    "delimiter",
    "key-marker",
    "upload-id-marker",
    "max-uploads",
    "encoding-type",
  ],
  GetBucketLocation: ["location"],
  GetBucketVersioning: ["versioning"],
  DeleteObjects: ["delete"],
  GetObject: ["partNumber", "versionId", ...RESPONSE_OVERRIDES],
  HeadObject: ["partNumber", "versionId", ...RESPONSE_OVERRIDES],
  DeleteObject: ["versionId"],
  GetObjectTagging: ["tagging", "versionId"],
  PutObject: [],
  CopyObject: [],
  UploadPart: ["uploadId", "partNumber"],
  UploadPartCopy: ["uploadId", "partNumber"],
  ListParts: ["uploadId", "max-parts", "part-number-marker", "encoding-type"],
  AbortMultipartUpload: ["uploadId"],
  CreateMultipartUpload: ["uploads"],
  CompleteMultipartUpload: ["uploadId"],
};

/** The operation a method and target name, before its parameters are checked. */
function candidateOperation(
  method: string,
  target: Target,
  params: Set<string>,
  copy: boolean,
): S3Operation | undefined {
  const { bucket, key, query } = target;
  if (bucket === "") return method === "GET" ? "ListBuckets" : undefined;
  if (key === "") {
    switch (method) {
      case "PUT":
        return "CreateBucket";
      case "HEAD":
        return "HeadBucket";
      case "DELETE":
        return "DeleteBucket";
      case "POST":
        return params.has("delete") ? "DeleteObjects" : undefined;
      case "GET":
        if (params.has("uploads")) return "ListMultipartUploads";
        if (params.has("location")) return "GetBucketLocation";
        if (params.has("versions")) return "ListObjectVersions";
        if (params.has("versioning")) return "GetBucketVersioning";
        if (params.has("list-type"))
          return query.get("list-type") === "2" ? "ListObjectsV2" : undefined;
        return "ListObjects";
    }
    return undefined;
  }
  switch (method) {
    case "PUT":
      if (params.has("uploadId") || params.has("partNumber"))
        return copy ? "UploadPartCopy" : "UploadPart";
      return copy ? "CopyObject" : "PutObject";
    case "GET":
      if (params.has("tagging")) return "GetObjectTagging";
      return params.has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return params.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    case "POST":
      if (params.has("uploads")) return "CreateMultipartUpload";
      if (params.has("uploadId")) return "CompleteMultipartUpload";
      return undefined;
  }
  return undefined;
}

/** Maps method + path + query to the S3 operation, or throws NotImplemented. */
function operationOf(method: string, target: Target, copy: boolean): S3Operation {
  const { bucket, key } = target;
  const params = new Set([...target.query.keys()].filter((name) => !isNeutralParam(name)));
  const operation = candidateOperation(method, target, params, copy);
  const allowed = operation === undefined ? undefined : (OPERATION_PARAMS[operation] ?? []);
  const unknown = [...params].filter((name) => !allowed?.includes(name));
  if (operation !== undefined && unknown.length === 0) return operation;
  const what = (operation === undefined ? [...params] : unknown).join("&");
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
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  // A request that announces no body has nothing to wait for (its `complete` may not be set yet).
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) {
    return Promise.resolve(true);
  }
  // A request whose stream was destroyed emits nothing more: waiting would never end.
  if (req.destroyed) return Promise.resolve(false);
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

/**
 * Writes an error response; `bodyWithheld`: the client waits for 100 Continue, so its body is
 * not read. `connection` is the request's socket as it arrived (a request destroyed while its
 * body was read has `socket` null).
 */
async function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  connection: Socket,
  error: S3Error,
  requestId: string,
  bodyWithheld: boolean,
): Promise<void> {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const complete = bodyWithheld ? false : await drain(req);
  // Only a closed connection goes unanswered. `res.socket` is no test of that: it is null while
  // an earlier response on the same keep-alive connection is unfinished (node queues this one
  // and sends it after that one), e.g. a GET whose body was all sent but whose file stream has
  // not closed yet when the client's next request arrives.
  if (res.destroyed || connection.destroyed) return;
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

/** What an unexpected error was, for the log: its code (ENOSPC, …) and message. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  return `${code === undefined ? "" : `${code}: `}${e.stack ?? e.message}`;
}

/** A request being handled on a socket (for the idle timeout). */
interface ActiveRequest {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  /** Answered with RequestTimeout by the idle timer: the handler must not answer again. */
  timedOut: boolean;
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
  const log = options.log ?? ((line: string) => process.stderr.write(`local S3: ${line}\n`));
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const store = await Store.open(dataDir, log);
  const faults = new FaultRules();
  /**
   * The requests of each connection not yet answered, in order: the first is the one on the
   * wire; a pipelined one waits behind it (node sends its response after the earlier one's).
   */
  const active = new Map<Socket, ActiveRequest[]>();

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const socket = req.socket;
    const current: ActiveRequest = { req, res, requestId, timedOut: false };
    let queue = active.get(socket);
    if (queue === undefined) {
      const created: ActiveRequest[] = [];
      queue = created;
      active.set(socket, created);
      socket.once("close", () => {
        if (active.get(socket) === created) active.delete(socket);
      });
    }
    queue.push(current);
    res.once("close", () => {
      const at = queue.indexOf(current);
      if (at >= 0) queue.splice(at, 1);
    });
    res.setHeader("x-amz-request-id", requestId);
    res.setHeader("Server", "s3-ingestion-experiment-local");
    let continued = false;
    try {
      const method = req.method ?? "GET";
      const target = parseTarget(req.url ?? "/");
      const operation = operationOf(method, target, req.headers["x-amz-copy-source"] !== undefined);
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
      const signed = verifyRequest(req, credentials, region);
      if (Buffer.byteLength(target.key, "utf8") > MAX_KEY_BYTES) {
        throw new S3Error("KeyTooLongError", "Your key is too long", {
          MaxSizeAllowed: String(MAX_KEY_BYTES),
          Size: String(Buffer.byteLength(target.key, "utf8")),
        });
      }
      // Only an authenticated request is asked for its body, and not one for a missing bucket.
      if (expectsContinue) {
        if (target.bucket !== "" && operation !== "CreateBucket")
          store.requireBucket(target.bucket);
        continued = true;
        res.writeContinue();
      }
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
      // An operation that settles without ending its response would leave the client waiting.
      if (!res.writableEnded && !res.destroyed) {
        throw new Error(`${operation} settled without a response`);
      }
    } catch (e: unknown) {
      if (current.timedOut) return;
      let error: S3Error;
      if (isS3Error(e)) error = e;
      else {
        const gone = socket.destroyed && !res.headersSent;
        if (!gone) log(`${requestId} ${req.method} ${req.url}: InternalError: ${describeError(e)}`);
        error = new S3Error("InternalError", "We encountered an internal error. Please try again.");
      }
      try {
        await sendError(req, res, socket, error, requestId, expectsContinue && !continued);
      } catch (sendFailure: unknown) {
        log(`${requestId}: the error response failed: ${describeError(sendFailure)}`);
        res.destroy();
      }
    }
  };

  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout: headersTimeoutMs,
      keepAliveTimeout: Math.min(KEEP_ALIVE_TIMEOUT_MS, idleTimeoutMs),
      connectionsCheckingInterval: Math.max(10, Math.min(30_000, headersTimeoutMs / 4)),
    },
    (req, res) => {
      void handle(req, res, false);
    },
  );
  // With these listeners node leaves Expect to the handler: 100 Continue after authentication,
  // and an Expect value other than 100-continue is ignored (as S3 does), not answered 417.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, true);
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, false);
  });
  // A connection with no traffic for idleTimeoutMs: closed when idle or stalled mid-response;
  // a body that stopped arriving is answered RequestTimeout, as S3 does.
  server.setTimeout(idleTimeoutMs, (socket: Socket) => {
    const current = active.get(socket)?.[0];
    if (current === undefined || current.res.headersSent || current.res.writableEnded) {
      socket.destroy();
      return;
    }
    // The whole request arrived: the server itself is busy with it (fsync, completion).
    if (current.req.complete) return;
    current.timedOut = true;
    log(
      `${current.requestId} ${current.req.method} ${current.req.url}: RequestTimeout: no body bytes for ${idleTimeoutMs} ms`,
    );
    const body = errorXml(
      "RequestTimeout",
      "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
      current.requestId,
    );
    current.res.writeHead(400, {
      "Content-Type": "application/xml",
      "Content-Length": Buffer.byteLength(body),
      Connection: "close",
    });
    current.res.end(body, () => {
      socket.destroy();
      // Its response is sent, so node no longer ends the request when the socket closes: the
      // handler still reading the body is stopped here (and removes what it had received).
      current.req.destroy();
    });
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
    openConnections: () =>
      new Promise((resolve, reject) =>
        server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
      ),
    stop,
  };
}
