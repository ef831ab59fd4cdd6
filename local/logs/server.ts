/**
 * The local CloudWatch Logs API: an HTTP server on 127.0.0.1 speaking the AWS JSON 1.1
 * protocol (`POST /`, `X-Amz-Target: Logs_20140328.<Operation>`) over the local Lambda
 * runtime's log store, for what the harvester and a user's `aws logs` need. Requests must be
 * SigV4-signed but any credentials are accepted, as the endpoint is loopback-only.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_REGION } from "../../core/constants";
import { LogStore } from "../lambda/log-store";
import { describeLogGroups, describeLogStreams } from "./describe";
import { isLogsError, LogsError } from "./errors";
import { filterLogEvents } from "./events";
import { FaultState, LOGS_OPERATIONS, type LogsFaults, type LogsOperation } from "./faults";
import { Params } from "./params";
import { QueryManager } from "./queries";
import { LogView } from "./view";

/** Options of {@link startLogsServer}. */
export interface LogsServerOptions {
  /** The log store's directory (the local Lambda runtime's `logDir`). */
  logDir: string;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  region?: string;
  /** Off unless given. */
  faults?: LogsFaults;
}

/** A running local CloudWatch Logs server. */
export interface LogsServer {
  /** `http://127.0.0.1:<port>`: the CloudWatch Logs endpoint for the SDK and the CLI. */
  readonly endpoint: string;
  readonly region: string;
  /** Stops the server; idempotent. */
  stop(): Promise<void>;
}

const TARGET_PREFIX = "Logs_20140328.";
const MAX_BODY_BYTES = 1_048_576;
const CONTENT_TYPE = "application/x-amz-json-1.1";

/** Starts the local CloudWatch Logs server over a log directory. */
export async function startLogsServer(options: LogsServerOptions): Promise<LogsServer> {
  const region = options.region ?? DEFAULT_REGION;
  const faults = new FaultState(options.faults ?? {});
  const view = new LogView(new LogStore(options.logDir), options.faults?.ingestionLagMs ?? 0);
  const queries = new QueryManager(view, faults);
  const handlers: Record<LogsOperation, (p: Params) => Record<string, unknown>> = {
    FilterLogEvents: (p) => filterLogEvents(view, p),
    StartQuery: (p) => queries.start(p),
    GetQueryResults: (p) => queries.results(p),
    StopQuery: (p) => queries.stop(p),
    DescribeLogGroups: (p) => describeLogGroups(view, p, region),
    DescribeLogStreams: (p) => describeLogStreams(view, p, region),
  };
  const server = createServer((req, res) => {
    const requestId = randomUUID();
    handle(req, handlers, faults)
      .then((out) => send(res, 200, JSON.stringify(out), requestId))
      .catch((e: unknown) => {
        const err = isLogsError(e)
          ? e
          : new LogsError(
              "ServiceUnavailableException",
              e instanceof Error ? e.message : String(e),
            );
        send(res, err.status, err.body(), requestId);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        queries.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}

async function handle(
  req: IncomingMessage,
  handlers: Record<LogsOperation, (p: Params) => Record<string, unknown>>,
  faults: FaultState,
): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") {
    throw new LogsError(
      "UnknownOperationException",
      `${req.method} ${req.url} is not an operation: POST / with X-Amz-Target`,
    );
  }
  if (!(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) {
    throw new LogsError("MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  const target = String(req.headers["x-amz-target"] ?? "");
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  if (!(LOGS_OPERATIONS as readonly string[]).includes(operation)) {
    throw new LogsError(
      "UnknownOperationException",
      `Operation ${JSON.stringify(target)} is not supported: allowed ${LOGS_OPERATIONS.map((o) => TARGET_PREFIX + o).join(", ")}`,
    );
  }
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    throw new LogsError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new LogsError("SerializationException", "The request body must be a JSON object.");
  }
  faults.countCall(operation as LogsOperation);
  return handlers[operation as LogsOperation](new Params(input as Record<string, unknown>));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES)
        reject(
          new LogsError(
            "InvalidParameterException",
            `The request body is over ${MAX_BODY_BYTES} bytes.`,
          ),
        );
      else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "Content-Type": CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-RequestId": requestId,
  });
  res.end(body);
}
