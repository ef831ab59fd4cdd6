/**
 * The invoker, identical for both backends: `InvokeCommand` with `LogType: "Tail"` and
 * `maxAttempts: 1` (a throttle is an outcome to record, never something to retry away), one
 * {@link InvocationRecord} per invocation, offered at a bounded client concurrency.
 */
import { setTimeout as sleepFor } from "node:timers/promises";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Cell } from "../core/cell";
import { cellId, functionTimeoutSeconds } from "../core/cell";
import type { DeployedCell } from "../core/deployer";
import { parseReport } from "../core/lambda-logs";
import type { InvocationRecord } from "../core/run-files";
import { LOCAL_CPU_HEADER, parseLocalCpu } from "../local/lambda/cpu-meter";
import { runPool } from "./pool";
import { decodeLogResult, findEmfLine } from "./report-line";

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
  const client = new LambdaClient({
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
  // The build step wraps deserialization: `next` returns the raw response and the output.
  client.middlewareStack.add(copyLocalCpuHeader, {
    step: "build",
    name: "copyLocalCpuHeader",
  });
  return client;
}

/** Where {@link copyLocalCpuHeader} puts the local runtime's CPU header on an Invoke output. */
export const LOCAL_CPU_OUTPUT_FIELD = "$localCpu";

/**
 * The local runtime's `x-amz-local-cpu` header is not part of the Invoke API, so the SDK drops
 * it: this middleware copies it onto the output ({@link LOCAL_CPU_OUTPUT_FIELD}). Lambda never
 * sends it, so on AWS the output is unchanged.
 */
// biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware generics are not worth the noise here
function copyLocalCpuHeader(next: (args: any) => Promise<any>) {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return async (args: any) => {
    const result = await next(args);
    const headers: unknown = result?.response?.headers;
    const value =
      isObject(headers) && typeof headers[LOCAL_CPU_HEADER] === "string"
        ? headers[LOCAL_CPU_HEADER]
        : undefined;
    if (value !== undefined && isObject(result.output))
      (result.output as Record<string, unknown>)[LOCAL_CPU_OUTPUT_FIELD] = value;
    return result;
  };
}

/** One run (cell × trial) to invoke. */
export interface InvokeRun {
  readonly cell: Cell;
  readonly deployed: DeployedCell;
  readonly runId: string;
  readonly trial: number;
  readonly invocations: number;
  readonly concurrency: number;
  /** True for a cell's warm-up run (trial 0): its records carry `warmup: true`. */
  readonly warmup?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** The optional local CPU fields of a record, from the copied header. */
function localCpuFields(o: Record<string, unknown>): Partial<InvocationRecord> {
  const raw = o[LOCAL_CPU_OUTPUT_FIELD];
  const cpu = parseLocalCpu(typeof raw === "string" ? raw : undefined);
  if (cpu === undefined) return {};
  return {
    local_cpu_ms: cpu.cpu_ms,
    local_cpu_quota_share: cpu.quota_share,
    ...(cpu.host_busy_share === undefined ? {} : { host_busy_share: cpu.host_busy_share }),
    ...(cpu.host_saturated === undefined ? {} : { host_saturated: cpu.host_saturated }),
  };
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
  scheduledMs?: number,
): Promise<InvocationRecord> {
  const base = {
    run_id: run.runId,
    cell_id: cellId(run.cell),
    function_name: run.deployed.functionName,
    workload: run.cell.workload,
    trial: run.trial,
    ...(run.warmup === true ? { warmup: true } : {}),
    ...(scheduledMs === undefined ? {} : { scheduled_ms: scheduledMs }),
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
    const report = parseReport(tail);
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
      ...localCpuFields(o),
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

/** How an open-loop run went: its records and what the safety limit kept from being sent. */
export interface OpenRunResult {
  /** One record per invocation sent, in sequence (schedule) order. */
  readonly records: InvocationRecord[];
  /** Arrivals scheduled (the Poisson draw of the trial). */
  readonly scheduled: number;
  /** Arrivals not sent because `maxInFlight` invocations were already in flight. */
  readonly dropped: number;
  /** The most invocations in flight at once. */
  readonly peakInFlight: number;
}

/** The clock of the open loop, injectable for tests. */
export interface OpenLoopClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: OpenLoopClock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleepFor(ms, undefined, signal === undefined ? {} : { signal });
  },
};

/**
 * The open loop: sends invocation `seq` at `start + offsetsMs[seq]` (epoch ms, recorded as
 * `scheduled_ms`) whatever is still in flight, so a slow or throttled call never delays the
 * next arrival. An arrival that finds `maxInFlight` calls in flight is not sent and counted as
 * a client-side drop (its `seq` is skipped). Waits for every sent call before returning.
 */
export async function invokeOpenRun(
  client: InvokeClient,
  run: InvokeRun,
  offsetsMs: readonly number[],
  maxInFlight: number,
  onRecord: (record: InvocationRecord) => void,
  signal?: AbortSignal,
  clock: OpenLoopClock = realClock,
): Promise<OpenRunResult> {
  const start = clock.now();
  const records: (InvocationRecord | undefined)[] = new Array(offsetsMs.length);
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let dropped = 0;
  const aborted = (): boolean => signal?.aborted === true;
  for (let seq = 0; seq < offsetsMs.length && !aborted(); seq++) {
    const at = start + (offsetsMs[seq] ?? 0);
    try {
      // A timer may fire a millisecond early: sleep again until the arrival's time has come.
      for (let wait = at - clock.now(); wait > 0; wait = at - clock.now()) {
        await clock.sleep(wait, signal);
      }
    } catch (e: unknown) {
      if (aborted()) break;
      throw e;
    }
    if (inFlight >= maxInFlight) {
      dropped++;
      continue;
    }
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    pending.push(
      invokeOnce(client, run, seq, signal, Math.round(at)).then((record) => {
        inFlight--;
        records[seq] = record;
        onRecord(record);
      }),
    );
  }
  await Promise.all(pending);
  return {
    records: records.filter((r): r is InvocationRecord => r !== undefined),
    scheduled: offsetsMs.length,
    dropped,
    peakInFlight,
  };
}

/** True when an invocation reached the function: a record of it is expected in the logs. */
export function reachedFunction(record: InvocationRecord): boolean {
  return !record.throttled && record.status_code === 200;
}
