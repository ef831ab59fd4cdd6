/**
 * The platform lines Lambda writes around each invocation (START, END, REPORT, timeout), in the
 * exact text of the real service, so that parsers written for CloudWatch Logs work unchanged.
 */

/** The version every local invocation runs. */
export const LATEST = "$LATEST";

/** `START RequestId: <id> Version: $LATEST` */
export function startLine(requestId: string): string {
  return `START RequestId: ${requestId} Version: ${LATEST}`;
}

/** `END RequestId: <id>` */
export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

/** What a REPORT line says about one invocation. */
export interface ReportFields {
  readonly requestId: string;
  readonly durationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Only on a cold start. */
  readonly initDurationMs?: number;
  /** `timeout` or `error` when the platform ended the invocation (Lambda's `Status:` field). */
  readonly status?: "timeout" | "error";
  /** Lambda's `Error Type:` field, with `status: "error"`. */
  readonly errorType?: string;
}

/**
 * Billed duration in ms: 1 ms steps, and since August 2025 the INIT phase of an on-demand cold
 * start is billed too, so a cold start bills `ceil(init + duration)`.
 */
export function billedDurationMs(durationMs: number, initDurationMs?: number): number {
  return Math.max(1, Math.ceil(durationMs + (initDurationMs ?? 0)));
}

/**
 * `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\t` +
 * `Max Memory Used: 80 MB[\tInit Duration: 150.00 ms][\tStatus: timeout|error[\tError Type: T]]`
 */
export function reportLine(f: ReportFields): string {
  const parts = [
    `REPORT RequestId: ${f.requestId}`,
    `Duration: ${f.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${billedDurationMs(f.durationMs, f.initDurationMs)} ms`,
    `Memory Size: ${f.memorySizeMb} MB`,
    `Max Memory Used: ${f.maxMemoryUsedMb} MB`,
  ];
  if (f.initDurationMs !== undefined)
    parts.push(`Init Duration: ${f.initDurationMs.toFixed(2)} ms`);
  if (f.status !== undefined) parts.push(`Status: ${f.status}`);
  if (f.status === "error" && f.errorType !== undefined) parts.push(`Error Type: ${f.errorType}`);
  return parts.join("\t");
}

/** `Task timed out after 3.00 seconds`, the text Lambda uses in logs and in the error payload. */
export function timedOutText(timeoutSeconds: number): string {
  return `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

/** The log line Lambda writes when an invocation times out: `<ISO time> <id> Task timed out ...`. */
export function timedOutLine(nowMs: number, requestId: string, timeoutSeconds: number): string {
  return `${new Date(nowMs).toISOString()} ${requestId} ${timedOutText(timeoutSeconds)}`;
}
