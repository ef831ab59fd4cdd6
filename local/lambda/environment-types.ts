/**
 * What an execution environment is given and what it reports: its function's spec, how an
 * invocation or INIT ended, Lambda's error payload.
 */
import type { LogFormat } from "../../core/lambda-logs";
import type { CpuSource } from "./cpu-meter";
import type { NetworkEmulation } from "./network";

/** Lambda's error payload. */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** What an environment needs to know about its function. */
export interface EnvironmentSpec {
  readonly functionName: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly region: string;
  readonly bundlePath: string;
  readonly handlerExport: string;
  /** The function's own variables (Lambda's reserved variables win over them). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  /** The function's log format: the runtime in the child writes `console.*` lines in it. */
  readonly logFormat: LogFormat;
  readonly invokedFunctionArn: string;
  /**
   * The network to S3 to emulate: the environment gets its own proxy to the function's
   * `S3_ENDPOINT` and sees the proxy's address in that variable. Undefined = direct.
   */
  readonly network?: NetworkEmulation;
}

/** How an invocation ended. */
export type InvokeOutcome =
  | { readonly kind: "result"; readonly payload: string }
  /** The handler threw or rejected; `fatal` when the runtime itself is going down. */
  | { readonly kind: "error"; readonly error: LambdaErrorPayload; readonly fatal: boolean }
  | { readonly kind: "timeout" }
  /** RSS above the memory size (killed) or V8 out of heap (aborted). */
  | { readonly kind: "oom"; readonly signal: string }
  /** The process exited for another reason. */
  | { readonly kind: "exit"; readonly detail: string };

/** Outcome, duration and memory of one invocation. */
export interface InvokeResult {
  readonly outcome: InvokeOutcome;
  readonly durationMs: number;
  readonly maxMemoryUsedMb: number;
  /** CPU time the environment used during the invocation, ms, and where it was read. */
  readonly cpu?: { readonly ms: number; readonly source: CpuSource };
}

/** How INIT ended. */
export type InitResult =
  | { readonly ok: true; readonly initDurationMs: number }
  | { readonly ok: false; readonly initDurationMs: number; readonly outcome: InvokeOutcome };

/** Receives every line an environment writes, with its timestamp. */
export type LineSink = (message: string, timestamp: number) => void;
