/**
 * S3 errors as the service reports them: a code, an HTTP status and a message, rendered as
 * AWS error XML so that real clients (SDK, aws-cli, s3cmd) map them to their own error types.
 */

/** HTTP status of each S3 error code this server returns (as documented for Amazon S3). */
export const S3_ERROR_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  ConditionalRequestConflict: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartNumber: 416,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestTimeout: 400,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

/** An error code this server knows the status of. */
export type S3ErrorCode = keyof typeof S3_ERROR_STATUS;

/** An S3 error response: thrown by handlers, rendered by the server. */
export class S3Error extends Error {
  override readonly name = "S3Error";
  /** The S3 error code, e.g. "NoSuchKey". */
  readonly code: string;
  /** HTTP status of the response. */
  readonly status: number;
  /** Extra elements of the error XML (e.g. BucketName, Key, UploadId). */
  readonly details: Readonly<Record<string, string>>;

  constructor(
    code: S3ErrorCode | (string & {}),
    message: string,
    details: Record<string, string> = {},
    status?: number,
  ) {
    super(message);
    this.code = code;
    this.status = status ?? (S3_ERROR_STATUS as Record<string, number>)[code] ?? 500;
    this.details = details;
  }
}

/** True for an {@link S3Error}. */
export function isS3Error(e: unknown): e is S3Error {
  return e instanceof S3Error;
}

/** Escapes text for an XML element or attribute. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The AWS error document for an error code and message. */
export function errorXml(
  code: string,
  message: string,
  requestId: string,
  details: Readonly<Record<string, string>> = {},
): string {
  const extra = Object.entries(details)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`
  );
}
