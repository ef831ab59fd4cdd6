/**
 * CloudWatch Logs errors as the AWS JSON 1.1 protocol carries them: HTTP status plus a body
 * `{"__type": code, "message": ...}`, which the v3 SDK and botocore turn into named exceptions.
 */

/** The error codes the local CloudWatch Logs server returns. */
export type LogsErrorCode =
  | "InvalidParameterException"
  | "ResourceNotFoundException"
  | "MalformedQueryException"
  | "LimitExceededException"
  | "ThrottlingException"
  | "SerializationException"
  | "UnknownOperationException"
  | "MissingAuthenticationTokenException"
  | "ServiceUnavailableException";

/** An error response of the local CloudWatch Logs server. */
export class LogsError extends Error {
  override readonly name = "LogsError";

  constructor(
    readonly code: LogsErrorCode,
    message: string,
    /** Members of the error shape besides `message` (e.g. `queryCompileError`). */
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly status: number = code === "ServiceUnavailableException" ? 503 : 400,
  ) {
    super(message);
  }

  /** The JSON body AWS sends for this error. */
  body(): string {
    return JSON.stringify({ __type: this.code, message: this.message, ...this.extra });
  }
}

/** `InvalidParameterException` naming the parameter, its value and what is allowed. */
export function invalidParameter(name: string, value: unknown, allowed: string): LogsError {
  return new LogsError(
    "InvalidParameterException",
    `Invalid value ${JSON.stringify(value)} for parameter ${name}: allowed ${allowed}`,
  );
}

/** The log group does not exist (AWS's message). */
export function groupNotFound(): LogsError {
  return new LogsError("ResourceNotFoundException", "The specified log group does not exist.");
}

/** Type guard for {@link LogsError}. */
export function isLogsError(e: unknown): e is LogsError {
  return e instanceof LogsError;
}
