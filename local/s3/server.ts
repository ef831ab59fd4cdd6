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
import { describeError, sendError } from "./error-response";
import { errorXml, isS3Error, S3Error } from "./errors";
import { type FaultInjector, FaultRules } from "./faults";
import { acquireHashPool, releaseHashPool } from "./hashing";
import { OPERATIONS } from "./operations";
import { operationOf, parseTarget } from "./routing";
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
