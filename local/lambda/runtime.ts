import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { DEFAULT_REGION, LAMBDA } from "../../core/constants";
import { InvalidInputError } from "../../core/errors";
import {
  endRecord,
  type InvokeStatus,
  initStartRecord,
  LATEST,
  LOG_FORMATS,
  type LogFormat,
  reportRecord,
  startRecord,
} from "../../core/lambda-logs";
import { logGroupName } from "../../core/names";
import { type CpuCgroups, setUpCpuCgroups } from "./cgroup";
import {
  formatLocalCpu,
  HostLoad,
  LOCAL_CPU_HEADER,
  type LocalCpu,
  quotaCores,
  SATURATED_BUSY_SHARE,
} from "./cpu-meter";
import {
  type EnvironmentSpec,
  ExecutionEnvironment,
  type InvokeOutcome,
  type LambdaErrorPayload,
} from "./environment";
import {
  ResourceConflictError,
  ResourceNotFoundError,
  sendLambdaError,
  type ThrottleReason,
} from "./errors";
import { timedOutLine, timedOutText } from "./log-lines";
import { LogStore, type LogStoreReader } from "./log-store";
import { type NetworkEmulation, validateNetwork } from "./network";

/** A function as the local deployer registers it. */
export interface LocalFunctionDefinition {
  functionName: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  /** undefined = unreserved (shares the account limit); never 0. */
  reservedConcurrency?: number;
  /** Absolute path of a CommonJS bundle. */
  bundlePath: string;
  /** Default "handler". */
  handlerExport?: string;
  /**
   * System and `console.*` log format, as CreateFunction's `LoggingConfig.LogFormat`; default
   * "Text", Lambda's default.
   */
  logFormat?: LogFormat;
}

/** Options of {@link startLambdaRuntime}. */
export interface LambdaRuntimeOptions {
  /** Where the log store lives; default a temporary directory removed by `stop()`. */
  logDir?: string;
  /** Concurrency shared by unreserved functions; default {@link DEFAULT_ACCOUNT_CONCURRENCY}. */
  accountConcurrency?: number;
  region?: string;
  /** "auto" (default) uses CPU cgroups where writable; "off" never does. */
  cpuScaling?: "auto" | "off";
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** An idle environment is ended after this long, ms; default {@link DEFAULT_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
  /**
   * Lambda's network to S3, emulated per environment on the function's `S3_ENDPOINT`
   * (local/lambda/network.ts); default none (direct), the local backend passes its default.
   */
  network?: NetworkEmulation;
}

/** A running local Lambda runtime. */
export interface LambdaRuntime {
  /** `http://127.0.0.1:<port>`: the Lambda endpoint for the SDK and the CLI. */
  readonly endpoint: string;
  readonly region: string;
  /** True when each environment runs under a CFS quota of memory/1769 of a CPU. */
  readonly cpuScalingEmulated: boolean;
  readonly accountConcurrency: number;
  /** The network emulation every environment gets; undefined = direct to S3. */
  readonly network: NetworkEmulation | undefined;
  readonly logs: LogStoreReader;
  createFunction(def: LocalFunctionDefinition): Promise<void>;
  /** Ends the function's environments; throws ResourceNotFoundException for an unknown name. */
  deleteFunction(name: string): Promise<void>;
  listFunctions(): string[];
  /** Pids of the live execution environments (for leak checks). */
  environmentPids(): number[];
  /** Ends every environment and the server; idempotent. */
  stop(): Promise<void>;
}

/**
 * Default concurrency of the unreserved pool. Lower than AWS's 1,000 because every environment
 * is a process on this machine; the experiment offers at most `--concurrency` (default 20), so
 * it does not bind. Reservations do not shrink this pool locally (on AWS they do): the full
 * matrix reserves more than any local account limit.
 */
export const DEFAULT_ACCOUNT_CONCURRENCY = 100;

/** Default time an idle (warm) environment is kept, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/** The account id in local ARNs. */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** The runtime version the local environments report (`platform.initStart`). */
const RUNTIME_VERSION = `nodejs:${process.versions.node.split(".")[0]}.local`;

/** `message` Lambda gives a throttle. */
const THROTTLE_MESSAGE = "Rate Exceeded.";

const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const FUNCTION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/?$/;
const LIST_PATH = /^\/2015-03-31\/functions\/?$/;

interface FunctionState {
  readonly def: Required<Omit<LocalFunctionDefinition, "reservedConcurrency">> & {
    reservedConcurrency: number | undefined;
  };
  readonly arn: string;
  readonly logGroup: string;
  /** Warm environments, most recently used last. */
  readonly idle: ExecutionEnvironment[];
  readonly all: Set<ExecutionEnvironment>;
  inFlight: number;
  deleted: boolean;
}

/** What one invocation produced, before it becomes an HTTP response. */
interface InvocationResult {
  readonly payload: string;
  readonly functionError: boolean;
  readonly log: string[];
  /** What CPU the environment got (not on a failed INIT). */
  readonly cpu?: LocalCpu;
}

/**
 * Starts the local Lambda runtime: an HTTP server on 127.0.0.1 speaking the Lambda Invoke API
 * (plus ListFunctions/GetFunction), with child-process execution environments. Requests are
 * not SigV4-verified: any credentials are accepted, as the endpoint is loopback-only.
 */
export async function startLambdaRuntime(
  options: LambdaRuntimeOptions = {},
): Promise<LambdaRuntime> {
  const accountConcurrency = options.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY;
  if (!Number.isSafeInteger(accountConcurrency) || accountConcurrency < 1) {
    throw new InvalidInputError("accountConcurrency", accountConcurrency, "an integer ≥ 1");
  }
  const region = options.region ?? DEFAULT_REGION;
  const ownLogDir = options.logDir === undefined;
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), "local-lambda-logs-"));
  const store = new LogStore(logDir);
  const network =
    options.network === undefined ? undefined : validateNetwork(options.network, "network");
  const cgroups = options.cpuScaling === "off" ? undefined : setUpCpuCgroups();
  const runtime = new Runtime(
    store,
    region,
    accountConcurrency,
    cgroups,
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    network,
  );
  await runtime.listen(options.port ?? 0);
  runtime.onStopped = () => {
    cgroups?.removeAll();
    if (ownLogDir) rmSync(logDir, { recursive: true, force: true });
  };
  return runtime;
}

class Runtime implements LambdaRuntime {
  endpoint = "";
  readonly region: string;
  readonly accountConcurrency: number;
  readonly cpuScalingEmulated: boolean;
  readonly logs: LogStoreReader;
  onStopped: () => void = () => undefined;

  private readonly store: LogStore;
  private readonly cgroups: CpuCgroups | undefined;
  private readonly functions = new Map<string, FunctionState>();
  private readonly collectors = new WeakMap<ExecutionEnvironment, string[]>();
  private readonly server: Server;
  private readonly reaper: NodeJS.Timeout;
  private readonly hostLoad = new HostLoad();
  private unreservedInFlight = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    store: LogStore,
    region: string,
    accountConcurrency: number,
    cgroups: CpuCgroups | undefined,
    private readonly idleTimeoutMs: number,
    readonly network: NetworkEmulation | undefined,
  ) {
    this.store = store;
    this.logs = store;
    this.region = region;
    this.accountConcurrency = accountConcurrency;
    this.cgroups = cgroups;
    this.cpuScalingEmulated = cgroups !== undefined;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        sendLambdaError(res, 500, "ServiceException", message, randomUUID());
      });
    });
    this.reaper = setInterval(
      () => void this.reapIdle(),
      Math.min(10_000, Math.max(50, idleTimeoutMs / 2)),
    );
    this.reaper.unref();
  }

  listen(port: number): Promise<void> {
    return new Promise((resolveListen, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        const { port: bound } = this.server.address() as AddressInfo;
        this.endpoint = `http://127.0.0.1:${bound}`;
        resolveListen();
      });
    });
  }

  async createFunction(def: LocalFunctionDefinition): Promise<void> {
    if (!FUNCTION_NAME_PATTERN.test(def.functionName)) {
      throw new InvalidInputError(
        "functionName",
        def.functionName,
        "1–64 letters, digits, '-' and '_'",
      );
    }
    if (
      !Number.isSafeInteger(def.memoryMb) ||
      def.memoryMb < LAMBDA.minMemoryMb ||
      def.memoryMb > LAMBDA.maxMemoryMb
    ) {
      throw new InvalidInputError(
        "memoryMb",
        def.memoryMb,
        `an integer from ${LAMBDA.minMemoryMb} to ${LAMBDA.maxMemoryMb}`,
      );
    }
    if (
      !Number.isSafeInteger(def.timeoutSeconds) ||
      def.timeoutSeconds < 1 ||
      def.timeoutSeconds > LAMBDA.maxTimeoutSeconds
    ) {
      throw new InvalidInputError(
        "timeoutSeconds",
        def.timeoutSeconds,
        `an integer from 1 to ${LAMBDA.maxTimeoutSeconds}`,
      );
    }
    const rc = def.reservedConcurrency;
    if (rc !== undefined && (!Number.isSafeInteger(rc) || rc < 1)) {
      throw new InvalidInputError(
        "reservedConcurrency",
        rc,
        "an integer ≥ 1, or undefined for unreserved",
      );
    }
    if (!isAbsolute(def.bundlePath) || !existsSync(def.bundlePath)) {
      throw new InvalidInputError(
        "bundlePath",
        def.bundlePath,
        "the absolute path of an existing CommonJS bundle",
      );
    }
    const logFormat = def.logFormat ?? "Text";
    if (!LOG_FORMATS.includes(logFormat)) {
      throw new InvalidInputError("logFormat", logFormat, `one of ${LOG_FORMATS.join(", ")}`);
    }
    if (this.stopping) throw new Error("the local Lambda runtime is stopped");
    if (this.functions.has(def.functionName)) {
      throw new ResourceConflictError(`Function already exist: ${def.functionName}`);
    }
    this.functions.set(def.functionName, {
      def: {
        functionName: def.functionName,
        memoryMb: def.memoryMb,
        timeoutSeconds: def.timeoutSeconds,
        environment: { ...def.environment },
        reservedConcurrency: rc,
        bundlePath: def.bundlePath,
        handlerExport: def.handlerExport ?? "handler",
        logFormat,
      },
      arn: this.arn(def.functionName),
      logGroup: logGroupName(def.functionName),
      idle: [],
      all: new Set(),
      inFlight: 0,
      deleted: false,
    });
  }

  async deleteFunction(name: string): Promise<void> {
    const fn = this.functions.get(name);
    if (fn === undefined) throw new ResourceNotFoundError(`Function not found: ${this.arn(name)}`);
    this.functions.delete(name);
    fn.deleted = true;
    fn.idle.length = 0;
    await Promise.all([...fn.all].map((env) => env.kill()));
  }

  listFunctions(): string[] {
    return [...this.functions.keys()].sort();
  }

  environmentPids(): number[] {
    const pids: number[] = [];
    for (const fn of this.functions.values()) {
      for (const env of fn.all) if (env.alive && env.pid !== undefined) pids.push(env.pid);
    }
    return pids;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.reaper);
      this.hostLoad.stop();
      const closed = new Promise<void>((r) => this.server.close(() => r()));
      this.server.closeAllConnections();
      const names = [...this.functions.keys()];
      await Promise.all(names.map((n) => this.deleteFunction(n).catch(() => undefined)));
      await closed;
      this.onStopped();
    })();
    return this.stopping;
  }

  private arn(name: string): string {
    return `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
  }

  private async reapIdle(): Promise<void> {
    const cutoff = Date.now() - this.idleTimeoutMs;
    for (const fn of this.functions.values()) {
      const stale = fn.idle.filter((env) => env.lastUsedMs < cutoff);
      if (stale.length === 0) continue;
      fn.idle.splice(0, fn.idle.length, ...fn.idle.filter((env) => env.lastUsedMs >= cutoff));
      for (const env of stale) {
        // Listed until its process is gone, so that environmentPids() never hides a live one.
        await env.kill();
        fn.all.delete(env);
      }
    }
  }

  /** Resolves a path segment (name, full or partial ARN, optional `:qualifier`) to a name. */
  private resolveName(segment: string): { name: string; qualifier?: string } {
    const decoded = decodeURIComponent(segment);
    const m =
      /^(?:arn:[^:]+:lambda:[^:]*:\d*:function:|\d{12}:function:)?([^:]+)(?::([^:]+))?$/.exec(
        decoded,
      );
    if (!m || m[1] === undefined) return { name: decoded };
    return m[2] === undefined ? { name: m[1] } : { name: m[1], qualifier: m[2] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const invokeMatch = INVOKE_PATH.exec(url.pathname);
    if (invokeMatch?.[1] !== undefined && req.method === "POST") {
      await this.handleInvoke(req, res, requestId, invokeMatch[1], url);
      return;
    }
    req.resume();
    if (req.method === "GET" && LIST_PATH.test(url.pathname)) {
      const Functions = this.listFunctions().flatMap((n) => {
        const fn = this.functions.get(n);
        return fn ? [this.configuration(fn)] : [];
      });
      sendJson(res, 200, { Functions }, requestId);
      return;
    }
    const fnMatch = FUNCTION_PATH.exec(url.pathname);
    if (fnMatch?.[1] !== undefined && req.method === "GET") {
      const fn = this.lookup(fnMatch[1]);
      if (fn === undefined) {
        sendLambdaError(
          res,
          404,
          "ResourceNotFoundException",
          `Function not found: ${this.arn(safeDecode(fnMatch[1]))}`,
          requestId,
        );
        return;
      }
      const rc = fn.def.reservedConcurrency;
      sendJson(
        res,
        200,
        {
          Configuration: this.configuration(fn),
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

  private lookup(segment: string): FunctionState | undefined {
    try {
      return this.functions.get(this.resolveName(segment).name);
    } catch {
      return undefined;
    }
  }

  private configuration(fn: FunctionState): Record<string, unknown> {
    return {
      FunctionName: fn.def.functionName,
      FunctionArn: fn.arn,
      Runtime: "nodejs22.x",
      Handler: `handler.${fn.def.handlerExport}`,
      MemorySize: fn.def.memoryMb,
      Timeout: fn.def.timeoutSeconds,
      Version: LATEST,
      State: "Active",
      PackageType: "Zip",
      Environment: { Variables: fn.def.environment },
      LoggingConfig: { LogFormat: fn.def.logFormat, LogGroup: fn.logGroup },
    };
  }

  private async handleInvoke(
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
      target = this.resolveName(segment);
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
    const fn = this.functions.get(target.name);
    if (fn === undefined || (qualifier !== undefined && qualifier !== LATEST)) {
      const arn = this.arn(target.name) + (qualifier === undefined ? "" : `:${qualifier}`);
      sendLambdaError(
        res,
        404,
        "ResourceNotFoundException",
        `Function not found: ${arn}`,
        requestId,
      );
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
      void this.invokeWhenAdmitted(fn, requestId, payload);
      res.writeHead(202, { "x-amzn-RequestId": requestId, "Content-Length": 0 });
      res.end();
      return;
    }
    const reason = this.admit(fn);
    if (reason !== undefined) {
      sendLambdaError(res, 429, "TooManyRequestsException", THROTTLE_MESSAGE, requestId, {
        Reason: reason,
      });
      return;
    }
    let result: InvocationResult;
    try {
      result = await this.invoke(fn, requestId, payload);
    } finally {
      this.release(fn);
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

  /** Takes a concurrency slot, or says why not (the throttle `Reason`). */
  private admit(fn: FunctionState): ThrottleReason | undefined {
    const reserved = fn.def.reservedConcurrency;
    if (reserved !== undefined) {
      if (fn.inFlight >= reserved) return "ReservedFunctionConcurrentInvocationLimitExceeded";
    } else if (this.unreservedInFlight >= this.accountConcurrency) {
      return "ConcurrentInvocationLimitExceeded";
    }
    fn.inFlight++;
    if (reserved === undefined) this.unreservedInFlight++;
    return undefined;
  }

  private release(fn: FunctionState): void {
    fn.inFlight--;
    if (fn.def.reservedConcurrency === undefined) this.unreservedInFlight--;
  }

  private async invokeWhenAdmitted(
    fn: FunctionState,
    requestId: string,
    payload: string,
  ): Promise<void> {
    while (this.admit(fn) !== undefined) {
      if (this.stopping || fn.deleted) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      await this.invoke(fn, requestId, payload);
    } finally {
      this.release(fn);
    }
  }

  private spec(fn: FunctionState): EnvironmentSpec {
    return {
      functionName: fn.def.functionName,
      memoryMb: fn.def.memoryMb,
      timeoutSeconds: fn.def.timeoutSeconds,
      region: this.region,
      bundlePath: fn.def.bundlePath,
      handlerExport: fn.def.handlerExport,
      environment: fn.def.environment,
      logGroupName: fn.logGroup,
      logFormat: fn.def.logFormat,
      invokedFunctionArn: fn.arn,
      ...(this.network === undefined ? {} : { network: this.network }),
    };
  }

  /** Runs one admitted invocation on a warm environment or a new one (cold start). */
  private async invoke(
    fn: FunctionState,
    requestId: string,
    payload: string,
  ): Promise<InvocationResult> {
    const log: string[] = [];
    let env = fn.idle.pop();
    // An environment that died while idle is discarded, and the invocation cold-starts, as on
    // Lambda (never a Runtime.ExitError at 0 ms on a dead process).
    while (env !== undefined && !env.alive) {
      fn.all.delete(env);
      void env.kill();
      env = fn.idle.pop();
    }
    let initDurationMs: number | undefined;
    let initFailure: InvokeOutcome | undefined;
    if (env === undefined) {
      const fresh = new ExecutionEnvironment(
        this.spec(fn),
        (message, timestamp) => {
          this.store.append(fn.logGroup, fresh.logStreamName, [{ message, timestamp }]);
          this.collectors.get(fresh)?.push(message);
        },
        this.cgroups,
      );
      env = fresh;
      fn.all.add(env);
      this.collectors.set(env, log);
      const init = await env.start();
      initDurationMs = init.initDurationMs;
      if (!init.ok) initFailure = init.outcome;
    }
    const active = env;
    this.collectors.set(active, log);
    const format = fn.def.logFormat;
    const write = (message: string) => {
      this.store.append(fn.logGroup, active.logStreamName, [{ message, timestamp: Date.now() }]);
      log.push(message);
    };

    if (initDurationMs !== undefined) {
      const init = initStartRecord(format, Date.now(), {
        functionName: fn.def.functionName,
        runtimeVersion: RUNTIME_VERSION,
      });
      // Written after INIT for simplicity: the event's own time is INIT's start.
      if (init !== undefined) write(init);
    }
    write(startRecord(format, Date.now(), requestId));
    const invokeStartMs = Date.now();
    const invoked =
      initFailure === undefined
        ? await env.invoke(requestId, payload)
        : { outcome: initFailure, durationMs: 0, maxMemoryUsedMb: 0 };
    const { outcome } = invoked;
    let response: {
      payload: string;
      functionError: boolean;
      status: InvokeStatus;
      errorType?: string;
    };
    switch (outcome.kind) {
      case "result":
        response =
          Buffer.byteLength(outcome.payload) > LAMBDA.maxSyncPayloadBytes
            ? {
                ...errorResponse({
                  errorType: "Function.ResponseSizeTooLarge",
                  errorMessage: `Response payload size exceeded maximum allowed payload size (${LAMBDA.maxSyncPayloadBytes} bytes).`,
                }),
                status: "success",
              }
            : { payload: outcome.payload, functionError: false, status: "success" };
        break;
      case "error":
        // A handler error is the function's result: the platform reports success in Text
        // (no Status field) and `error` in JSON's runtimeDone/report, as Lambda does.
        response = {
          ...errorResponse(outcome.error),
          status: format === "JSON" ? "error" : "success",
          ...(format === "JSON" ? { errorType: outcome.error.errorType } : {}),
        };
        break;
      case "timeout":
        if (format === "Text") write(timedOutLine(Date.now(), requestId, fn.def.timeoutSeconds));
        response = {
          ...errorResponse({
            errorType: "Sandbox.Timedout",
            errorMessage: `RequestId: ${requestId} Error: ${timedOutText(fn.def.timeoutSeconds)}`,
          }),
          status: "timeout",
        };
        break;
      case "oom":
      case "exit": {
        const detail = outcome.kind === "oom" ? outcome.signal : outcome.detail;
        const errorType = outcome.kind === "oom" ? "Runtime.OutOfMemory" : "Runtime.ExitError";
        const errorMessage = `RequestId: ${requestId} Error: Runtime exited with error: ${detail}`;
        if (format === "Text") write(`${errorMessage}\n${errorType}`);
        response = { ...errorResponse({ errorType, errorMessage }), status: "error", errorType };
        break;
      }
    }
    write(
      endRecord(format, Date.now(), {
        requestId,
        status: response.status,
        durationMs: invoked.durationMs,
        ...(response.errorType === undefined ? {} : { errorType: response.errorType }),
      }),
    );
    write(
      reportRecord(format, Date.now(), {
        requestId,
        durationMs: invoked.durationMs,
        memorySizeMb: fn.def.memoryMb,
        maxMemoryUsedMb: invoked.maxMemoryUsedMb,
        ...(initDurationMs === undefined ? {} : { initDurationMs }),
        status: response.status,
        ...(response.errorType === undefined ? {} : { errorType: response.errorType }),
      }),
    );
    this.collectors.delete(env);

    const reusable =
      env.alive &&
      !fn.deleted &&
      !this.stopping &&
      (outcome.kind === "result" || (outcome.kind === "error" && !outcome.fatal));
    if (reusable) {
      fn.idle.push(env);
    } else {
      fn.all.delete(env);
      await env.kill();
    }
    const cpu = this.localCpu(fn, invoked.durationMs, invoked.cpu, invokeStartMs);
    return {
      payload: response.payload,
      functionError: response.functionError,
      log,
      ...(cpu === undefined ? {} : { cpu }),
    };
  }

  /** The invocation's CPU against the quota, and how busy the host was meanwhile. */
  private localCpu(
    fn: FunctionState,
    durationMs: number,
    cpu: { ms: number; source: LocalCpu["source"] } | undefined,
    startMs: number,
  ): LocalCpu | undefined {
    if (cpu === undefined || durationMs <= 0) return undefined;
    const busy = this.hostLoad.busyShareSince(startMs);
    return {
      cpu_ms: cpu.ms,
      quota_share: cpu.ms / (durationMs * quotaCores(fn.def.memoryMb)),
      ...(busy === undefined
        ? {}
        : { host_busy_share: busy, host_saturated: busy >= SATURATED_BUSY_SHARE }),
      source: cpu.source,
    };
  }
}

function errorResponse(error: LambdaErrorPayload): { payload: string; functionError: true } {
  return { payload: JSON.stringify(error), functionError: true };
}

/** The last 4 KB of an invocation's log, base64, as `X-Amz-Log-Result`. */
function tailOf(lines: readonly string[]): string {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
  return text.subarray(Math.max(0, text.length - LAMBDA.tailLogBytes)).toString("base64");
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
