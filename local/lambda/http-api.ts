/**
 * The HTTP routing of the local Lambda runtime: the Invoke API (RequestResponse, Event,
 * DryRun; `X-Amz-Log-Result` for `LogType: Tail`), GetFunction and ListFunctions, with the
 * status codes, error codes and messages Lambda gives. Requests are not SigV4-verified: any
 * credentials are accepted, as the endpoint is loopback-only.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { LAMBDA } from "../../core/constants";
import { LATEST } from "../../core/lambda-logs";
import { THROTTLE_MESSAGE } from "./admission";
import { formatLocalCpu, LOCAL_CPU_HEADER } from "./cpu-meter";
import { sendLambdaError, type ThrottleReason } from "./errors";
import type { FunctionRegistry, FunctionState } from "./functions";
import { type InvocationResult, tailOf } from "./invocation";

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const FUNCTION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/?$/;
const LIST_PATH = /^\/2015-03-31\/functions\/?$/;

/** What the routes act on. */
export interface LambdaApi {
  readonly functions: FunctionRegistry;
  /** Takes a concurrency slot, or says why not. */
  admit(fn: FunctionState): ThrottleReason | undefined;
  release(fn: FunctionState): void;
  /** Runs an admitted invocation. */
  invoke(fn: FunctionState, requestId: string, payload: string): Promise<InvocationResult>;
  /** Queues an asynchronous invocation until it is admitted. */
  invokeAsync(fn: FunctionState, requestId: string, payload: string): Promise<void>;
}

/** The request listener of the runtime's server. */
export function lambdaRequestListener(
  api: LambdaApi,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(api, req, res).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      sendLambdaError(res, 500, "ServiceException", message, randomUUID());
    });
  };
}

async function handle(api: LambdaApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const invokeMatch = INVOKE_PATH.exec(url.pathname);
  if (invokeMatch?.[1] !== undefined && req.method === "POST") {
    await handleInvoke(api, req, res, requestId, invokeMatch[1], url);
    return;
  }
  req.resume();
  const { functions } = api;
  if (req.method === "GET" && LIST_PATH.test(url.pathname)) {
    const Functions = functions.names().flatMap((n) => {
      const fn = functions.get(n);
      return fn ? [functions.configuration(fn)] : [];
    });
    sendJson(res, 200, { Functions }, requestId);
    return;
  }
  const fnMatch = FUNCTION_PATH.exec(url.pathname);
  if (fnMatch?.[1] !== undefined && req.method === "GET") {
    const fn = functions.lookup(fnMatch[1]);
    if (fn === undefined) {
      sendLambdaError(
        res,
        404,
        "ResourceNotFoundException",
        `Function not found: ${functions.arn(safeDecode(fnMatch[1]))}`,
        requestId,
      );
      return;
    }
    const rc = fn.def.reservedConcurrency;
    sendJson(
      res,
      200,
      {
        Configuration: functions.configuration(fn),
        ...(rc === undefined ? {} : { Concurrency: { ReservedConcurrentExecutions: rc } }),
      },
      requestId,
    );
    return;
  }
  sendLambdaError(
    res,
    404,
    "UnknownOperationException",
    `Unknown operation: ${req.method} ${url.pathname}`,
    requestId,
  );
}

async function handleInvoke(
  api: LambdaApi,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  segment: string,
  url: URL,
): Promise<void> {
  const body = await readBody(req, LAMBDA.maxSyncPayloadBytes);
  if (body === undefined) {
    sendLambdaError(
      res,
      413,
      "RequestTooLargeException",
      `Request must be smaller than ${LAMBDA.maxSyncPayloadBytes} bytes for the InvokeFunction operation`,
      requestId,
    );
    return;
  }
  let target: { name: string; qualifier?: string };
  try {
    target = api.functions.resolveName(segment);
  } catch {
    sendLambdaError(
      res,
      400,
      "InvalidParameterValueException",
      "Invalid function name in the request path",
      requestId,
    );
    return;
  }
  const qualifier = url.searchParams.get("Qualifier") ?? target.qualifier;
  const fn = api.functions.get(target.name);
  if (fn === undefined || (qualifier !== undefined && qualifier !== LATEST)) {
    const arn = api.functions.arn(target.name) + (qualifier === undefined ? "" : `:${qualifier}`);
    sendLambdaError(res, 404, "ResourceNotFoundException", `Function not found: ${arn}`, requestId);
    return;
  }
  const invocationType = headerValue(req, "x-amz-invocation-type") ?? "RequestResponse";
  if (!["RequestResponse", "Event", "DryRun"].includes(invocationType)) {
    sendLambdaError(
      res,
      400,
      "InvalidParameterValueException",
      `1 validation error detected: Value '${invocationType}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      requestId,
    );
    return;
  }
  const payload = body.toString("utf8");
  if (payload.trim() !== "") {
    try {
      JSON.parse(payload);
    } catch (e: unknown) {
      const detail = e instanceof Error ? e.message : String(e);
      sendLambdaError(
        res,
        400,
        "InvalidRequestContentException",
        `Could not parse request body into json: ${detail}`,
        requestId,
      );
      return;
    }
  }
  if (invocationType === "DryRun") {
    res.writeHead(204, { "x-amzn-RequestId": requestId });
    res.end();
    return;
  }
  if (invocationType === "Event") {
    // Asynchronous invocations are queued by Lambda, never throttled to the caller.
    void api.invokeAsync(fn, requestId, payload);
    res.writeHead(202, { "x-amzn-RequestId": requestId, "Content-Length": 0 });
    res.end();
    return;
  }
  const reason = api.admit(fn);
  if (reason !== undefined) {
    sendLambdaError(res, 429, "TooManyRequestsException", THROTTLE_MESSAGE, requestId, {
      Reason: reason,
    });
    return;
  }
  let result: InvocationResult;
  try {
    result = await api.invoke(fn, requestId, payload);
  } finally {
    api.release(fn);
  }
  const headers: Record<string, string | number> = {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(result.payload),
    "X-Amz-Executed-Version": LATEST,
    "x-amzn-RequestId": requestId,
  };
  if (result.functionError) headers["X-Amz-Function-Error"] = "Unhandled";
  // Local only, never sent by Lambda: the invoker records it where present.
  if (result.cpu !== undefined) headers[LOCAL_CPU_HEADER] = formatLocalCpu(result.cpu);
  if (headerValue(req, "x-amz-log-type") === "Tail")
    headers["X-Amz-Log-Result"] = tailOf(result.log);
  res.writeHead(200, headers);
  res.end(result.payload);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-RequestId": requestId,
  });
  res.end(body);
}

/** The request body, or undefined when it exceeds `limit` bytes (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolveBody(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
