/**
 * What the parent knows of an environment's child process: the variables Lambda sets, the IPC
 * messages of bootstrap.js, its output split into lines, its RSS from /proc, and the names
 * Lambda gives its signals.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Readable } from "node:stream";
import { LATEST } from "../../core/lambda-logs";
import type { EnvironmentSpec, LambdaErrorPayload } from "./environment-types";
import { NETWORK_ENDPOINT_VARIABLE } from "./network";

/** The bootstrap every environment runs (plain JS, no loaders). */
export const BOOTSTRAP = resolve(__dirname, "bootstrap.js");

/** What bootstrap.js sends the parent. */
export type ChildMessage =
  | { type: "initialized" }
  | { type: "initError"; error: LambdaErrorPayload }
  | { type: "result"; requestId: string; payload: string }
  | { type: "error"; requestId?: string; error: LambdaErrorPayload; fatal?: boolean };

export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === "object" && m !== null && "type" in m && typeof m.type === "string";
}

/** V8's message on stderr when the heap is exhausted. */
export const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit/;

/**
 * The variables Lambda sets, over the function's own; `s3Endpoint` (the environment's network
 * proxy) replaces the function's `S3_ENDPOINT` where given.
 */
export function lambdaVariables(
  s: EnvironmentSpec,
  logStreamName: string,
  s3Endpoint: string | undefined,
): Record<string, string> {
  return {
    ...s.environment,
    ...(s3Endpoint === undefined ? {} : { [NETWORK_ENDPOINT_VARIABLE]: s3Endpoint }),
    PATH: "/usr/local/bin:/usr/bin:/bin",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    AWS_REGION: s.region,
    AWS_DEFAULT_REGION: s.region,
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    AWS_LAMBDA_FUNCTION_NAME: s.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: LATEST,
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_FORMAT: s.logFormat,
    AWS_LAMBDA_LOG_GROUP_NAME: s.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
    LAMBDA_TASK_ROOT: dirname(s.bundlePath),
    LAMBDA_RUNTIME_DIR: dirname(BOOTSTRAP),
    _HANDLER: `${s.bundlePath.replace(/\.c?js$/, "")}.${s.handlerExport}`,
  };
}

/** Calls `emit` with every line of a text stream (the last one also without its newline). */
export function forEachLine(stream: Readable | null, emit: (line: string) => void): void {
  if (stream === null) return;
  stream.setEncoding("utf8");
  let pending = "";
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  });
  stream.on("end", () => {
    if (pending !== "") emit(pending);
    pending = "";
  });
}

/** Only plain http:// endpoints on loopback are proxied (the local S3 server's). */
export function isLoopbackHttp(endpoint: string): boolean {
  try {
    const u = new URL(endpoint);
    return u.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  } catch {
    return false;
  }
}

/** Go's names for the signals Lambda's messages mention ("signal: killed"). */
export function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: "killed",
    SIGABRT: "aborted",
    SIGSEGV: "segmentation fault",
    SIGTERM: "terminated",
  };
  return names[signal] ?? signal;
}

/** Current and peak RSS of a process from /proc, bytes; undefined once it is gone. */
export function readRss(pid: number | undefined): { rss: number; hwm: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return undefined;
  }
}
