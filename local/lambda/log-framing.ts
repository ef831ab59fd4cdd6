/**
 * Log framing of one invocation, as Lambda's platform writes it around the function's own
 * lines: `platform.initStart` on a cold start, START, the platform's lines for a timeout or a
 * crash, END (`platform.runtimeDone`) and REPORT, in the function's log format
 * (core/lambda-logs.ts); and the response payload each outcome gives the caller.
 */
import { LAMBDA } from "../../core/constants";
import {
  endRecord,
  type InvokeStatus,
  initStartRecord,
  type LogFormat,
  reportRecord,
  startRecord,
} from "../../core/lambda-logs";
import type { InvokeOutcome, LambdaErrorPayload } from "./environment-types";
import { timedOutLine, timedOutText } from "./log-lines";

/** The runtime version the local environments report (`platform.initStart`). */
export const RUNTIME_VERSION = `nodejs:${process.versions.node.split(".")[0]}.local`;

/** Writes one line to the invocation's stream (and its tail). */
export type LineWriter = (message: string) => void;

/** What the caller gets for an outcome, and the status the platform records give it. */
export interface FramedResponse {
  readonly payload: string;
  readonly functionError: boolean;
  readonly status: InvokeStatus;
  readonly errorType?: string;
}

function errorResponse(error: LambdaErrorPayload): { payload: string; functionError: true } {
  return { payload: JSON.stringify(error), functionError: true };
}

/** `platform.initStart` (cold starts, where the format has it) and START. */
export function writeOpening(
  write: LineWriter,
  format: LogFormat,
  o: { functionName: string; requestId: string; coldStart: boolean },
): void {
  if (o.coldStart) {
    const init = initStartRecord(format, Date.now(), {
      functionName: o.functionName,
      runtimeVersion: RUNTIME_VERSION,
    });
    // Written after INIT for simplicity: the event's own time is INIT's start.
    if (init !== undefined) write(init);
  }
  write(startRecord(format, Date.now(), o.requestId));
}

/**
 * The response to an outcome; writes the platform's own lines for a timeout or a crash (Text
 * format).
 */
export function frameOutcome(
  write: LineWriter,
  format: LogFormat,
  outcome: InvokeOutcome,
  o: { requestId: string; timeoutSeconds: number },
): FramedResponse {
  const { requestId } = o;
  switch (outcome.kind) {
    case "result":
      return Buffer.byteLength(outcome.payload) > LAMBDA.maxSyncPayloadBytes
        ? {
            ...errorResponse({
              errorType: "Function.ResponseSizeTooLarge",
              errorMessage: `Response payload size exceeded maximum allowed payload size (${LAMBDA.maxSyncPayloadBytes} bytes).`,
            }),
            status: "success",
          }
        : { payload: outcome.payload, functionError: false, status: "success" };
    case "error":
      // A handler error is the function's result: the platform reports success in Text
      // (no Status field) and `error` in JSON's runtimeDone/report, as Lambda does.
      return {
        ...errorResponse(outcome.error),
        status: format === "JSON" ? "error" : "success",
        ...(format === "JSON" ? { errorType: outcome.error.errorType } : {}),
      };
    case "timeout":
      if (format === "Text") write(timedOutLine(Date.now(), requestId, o.timeoutSeconds));
      return {
        ...errorResponse({
          errorType: "Sandbox.Timedout",
          errorMessage: `RequestId: ${requestId} Error: ${timedOutText(o.timeoutSeconds)}`,
        }),
        status: "timeout",
      };
    case "oom":
    case "exit": {
      const detail = outcome.kind === "oom" ? outcome.signal : outcome.detail;
      const errorType = outcome.kind === "oom" ? "Runtime.OutOfMemory" : "Runtime.ExitError";
      const errorMessage = `RequestId: ${requestId} Error: Runtime exited with error: ${detail}`;
      if (format === "Text") write(`${errorMessage}\n${errorType}`);
      return { ...errorResponse({ errorType, errorMessage }), status: "error", errorType };
    }
  }
}

/** END (`platform.runtimeDone`) and REPORT. */
export function writeClosing(
  write: LineWriter,
  format: LogFormat,
  response: FramedResponse,
  o: {
    requestId: string;
    durationMs: number;
    memorySizeMb: number;
    maxMemoryUsedMb: number;
    initDurationMs: number | undefined;
  },
): void {
  const errorType = response.errorType === undefined ? {} : { errorType: response.errorType };
  write(
    endRecord(format, Date.now(), {
      requestId: o.requestId,
      status: response.status,
      durationMs: o.durationMs,
      ...errorType,
    }),
  );
  write(
    reportRecord(format, Date.now(), {
      requestId: o.requestId,
      durationMs: o.durationMs,
      memorySizeMb: o.memorySizeMb,
      maxMemoryUsedMb: o.maxMemoryUsedMb,
      ...(o.initDurationMs === undefined ? {} : { initDurationMs: o.initDurationMs }),
      status: response.status,
      ...errorType,
    }),
  );
}
