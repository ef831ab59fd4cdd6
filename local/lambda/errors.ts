import type { ServerResponse } from "node:http";

/** The function does not exist (HTTP 404 on the Invoke API; thrown by `deleteFunction`). */
export class ResourceNotFoundError extends Error {
  override readonly name = "ResourceNotFoundException";
}

/** A function of that name already exists (`createFunction`). */
export class ResourceConflictError extends Error {
  override readonly name = "ResourceConflictException";
}

/** The `Reason` values Lambda gives a 429 `TooManyRequestsException`. */
export type ThrottleReason =
  | "ReservedFunctionConcurrentInvocationLimitExceeded"
  | "ConcurrentInvocationLimitExceeded";

/**
 * Writes an error the way Lambda's REST-JSON API does: the error code in `x-amzn-ErrorType`
 * (which the v3 SDK and botocore read first) and a JSON body with `Type` and `message`, plus
 * any shape members (e.g. `Reason`).
 */
export function sendLambdaError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify({ ...extra, Type: status >= 500 ? "Service" : "User", message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-ErrorType": code,
    "x-amzn-RequestId": requestId,
  });
  res.end(body);
}
