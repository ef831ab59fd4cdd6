/**
 * The timeout texts the local runtime writes besides the system records of core/lambda-logs.ts,
 * in the exact words of the real service.
 */

/** `Task timed out after 3.00 seconds`, the text Lambda uses in logs and in the error payload. */
export function timedOutText(timeoutSeconds: number): string {
  return `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

/** The log line Lambda writes when an invocation times out: `<ISO time> <id> Task timed out ...`. */
export function timedOutLine(nowMs: number, requestId: string, timeoutSeconds: number): string {
  return `${new Date(nowMs).toISOString()} ${requestId} ${timedOutText(timeoutSeconds)}`;
}
