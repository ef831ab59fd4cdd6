/**
 * The invoker, identical for both backends: `InvokeCommand` with `LogType: "Tail"` and
 * `maxAttempts: 1` (a throttle is an outcome to record, never something to retry away), one
 * {@link InvocationRecord} per invocation, offered at a bounded client concurrency.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Cell } from "../core/cell";
import { cellId, functionTimeoutSeconds } from "../core/cell";
import type { InvocationRecord } from "../core/run-files";
import type { DeployedCell } from "./deployer";
import { runPool } from "./pool";
import { decodeLogResult, findEmfLine, parseReportLine } from "./report-line";

/** The part of a Lambda client the invoker needs (a seam for tests). */
export interface InvokeClient {
  send(command: InvokeCommand, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  /** Releases the client's sockets (a real LambdaClient has it). */
  destroy?(): void;
}

/** How long an invocation of a cell may take, client side: the function timeout + 30 s. */
export function requestTimeoutMs(cell: Cell): number {
  return (functionTimeoutSeconds(cell) + 30) * 1000;
}

/**
 * A Lambda client for a deployed cell: its endpoint and credentials, no retries, and an HTTP
 * pool of `concurrency` sockets. The SDK's default pool is 50 sockets, which silently capped
 * the offered concurrency at 50 (the others queue inside the client, their latency counted);
 * and its `requestTimeout` only logs a warning unless `throwOnRequestTimeout` is set, so a
 * hung response would hold a slot forever instead of ending in a TimeoutError record.
 */
export function lambdaClientFor(
  deployed: DeployedCell,
  cell: Cell,
  concurrency: number,
  timeoutMs: number = requestTimeoutMs(cell),
): LambdaClient {
  return new LambdaClient({
    region: deployed.region,
    maxAttempts: 1,
    ...(deployed.endpoints.lambda === undefined ? {} : { endpoint: deployed.endpoints.lambda }),
    ...(deployed.credentials === undefined ? {} : { credentials: deployed.credentials }),
    requestHandler: {
      // A batch invocation may legitimately run up to the function timeout.
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      httpAgent: { maxSockets: concurrency },
      httpsAgent: { maxSockets: concurrency },
    },
  });
}

/** One run (cell × trial) to invoke. */
export interface InvokeRun {
  readonly cell: Cell;
  readonly deployed: DeployedCell;
  readonly runId: string;
  readonly trial: number;
  readonly invocations: number;
  readonly concurrency: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function metadataOf(v: unknown): { status: number; requestId?: string } {
  const meta = isObject(v) && isObject(v.$metadata) ? v.$metadata : {};
  const status = typeof meta.httpStatusCode === "number" ? meta.httpStatusCode : 0;
  return typeof meta.requestId === "string" ? { status, requestId: meta.requestId } : { status };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Invokes a cell's function once with `{"run_id": ...}` and records what the client saw. */
export async function invokeOnce(
  client: InvokeClient,
  run: InvokeRun,
  seq: number,
  signal?: AbortSignal,
): Promise<InvocationRecord> {
  const base = {
    run_id: run.runId,
    cell_id: cellId(run.cell),
    function_name: run.deployed.functionName,
    workload: run.cell.workload,
    trial: run.trial,
    seq,
  };
  const command = new InvokeCommand({
    FunctionName: run.deployed.functionName,
    LogType: "Tail",
    Payload: Buffer.from(JSON.stringify({ run_id: run.runId })),
  });
  const start = Date.now();
  try {
    const out = await client.send(command, signal === undefined ? {} : { abortSignal: signal });
    const end = Date.now();
    const meta = metadataOf(out);
    const o = isObject(out) ? out : {};
    const status = typeof o.StatusCode === "number" ? o.StatusCode : meta.status;
    const tail = decodeLogResult(str(o.LogResult));
    const report = parseReportLine(tail);
    const emf = findEmfLine(tail);
    const functionError = str(o.FunctionError);
    return {
      ...base,
      ...(meta.requestId === undefined ? {} : { request_id: meta.requestId }),
      client_start_ms: start,
      client_end_ms: end,
      status_code: status,
      throttled: false,
      ...(functionError === undefined ? {} : { function_error: functionError }),
      ...(report === undefined ? {} : { report }),
      ...(emf === undefined ? {} : { tail_emf_line: emf }),
    };
  } catch (e: unknown) {
    const end = Date.now();
    const meta = metadataOf(e);
    const name = e instanceof Error ? e.name : "Error";
    const message = e instanceof Error ? e.message : String(e);
    const throttled = name === "TooManyRequestsException" || meta.status === 429;
    const reason = isObject(e) ? str(e.Reason) : undefined;
    const retryAfter = isObject(e) ? Number(e.retryAfterSeconds) : Number.NaN;
    return {
      ...base,
      ...(meta.requestId === undefined ? {} : { request_id: meta.requestId }),
      client_start_ms: start,
      client_end_ms: end,
      status_code: meta.status,
      throttled,
      ...(throttled && reason !== undefined ? { throttle_reason: reason } : {}),
      ...(throttled && Number.isFinite(retryAfter) ? { retry_after_s: retryAfter } : {}),
      ...(throttled ? {} : { error: `${name}: ${message}` }),
    };
  }
}

/**
 * Sends a run's invocations with at most `concurrency` in flight and returns one record per
 * invocation started, in sequence order. `onRecord` sees each record as it completes.
 */
export async function invokeRun(
  client: InvokeClient,
  run: InvokeRun,
  onRecord: (record: InvocationRecord) => void,
  signal?: AbortSignal,
): Promise<InvocationRecord[]> {
  return runPool(
    run.invocations,
    run.concurrency,
    async (seq) => {
      const record = await invokeOnce(client, run, seq, signal);
      onRecord(record);
      return record;
    },
    signal,
  );
}

/** True when an invocation reached the function: a record of it is expected in the logs. */
export function reachedFunction(record: InvocationRecord): boolean {
  return !record.throttled && record.status_code === 200;
}
