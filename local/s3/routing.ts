/**
 * Routing of a request: its bucket and key from the path, and the S3 operation its method,
 * path and query name (a sub-resource this server does not implement answers 501).
 */
import { S3Error } from "./errors";
import type { S3Operation } from "./faults";

/** The bucket, key and query a request names. */
export interface Target {
  bucket: string;
  key: string;
  query: URLSearchParams;
}

/** The bucket and key of a path-style request URL (URL-decoded), and its query. */
export function parseTarget(rawUrl: string): Target {
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  const rest = path.replace(/^\/+/, "");
  const slash = rest.indexOf("/");
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error("InvalidArgument", "The request path is not valid URL encoding");
    }
  };
  if (slash < 0) return { bucket: decode(rest), key: "", query };
  return { bucket: decode(rest.slice(0, slash)), key: decode(rest.slice(slash + 1)), query };
}

/**
 * Query parameters that say nothing about the operation: the SDK's ?x-id=<Operation> tag and
 * presigned-URL authentication (X-Amz-Algorithm, X-Amz-Credential, …, and the x-amz-* headers a
 * presigner hoists into the query).
 */
function isNeutralParam(name: string): boolean {
  return name === "x-id" || /^x-amz-/i.test(name);
}

/** GetObject/HeadObject's response header overrides. */
const RESPONSE_OVERRIDES = [
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
];

/**
 * For each operation, the query parameters it takes: a request with any other parameter is a
 * sub-resource this server does not implement (501), never the plain operation.
 */
const OPERATION_PARAMS: Partial<Record<S3Operation, readonly string[]>> = {
  ListBuckets: ["max-buckets", "continuation-token", "prefix", "bucket-region"],
  ListObjects: ["prefix", "delimiter", "marker", "max-keys", "encoding-type"],
  ListObjectsV2: [
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "encoding-type",
    "continuation-token",
    "fetch-owner",
    "start-after",
  ],
  ListObjectVersions: [
    "versions",
    "prefix",
    "delimiter",
    "key-marker",
    "version-id-marker",
    "max-keys",
    "encoding-type",
  ],
  ListMultipartUploads: [
    "uploads",
    "prefix",
    "delimiter",
    "key-marker",
    "upload-id-marker",
    "max-uploads",
    "encoding-type",
  ],
  GetBucketLocation: ["location"],
  GetBucketVersioning: ["versioning"],
  DeleteObjects: ["delete"],
  GetObject: ["partNumber", "versionId", ...RESPONSE_OVERRIDES],
  HeadObject: ["partNumber", "versionId", ...RESPONSE_OVERRIDES],
  DeleteObject: ["versionId"],
  GetObjectTagging: ["tagging", "versionId"],
  PutObject: [],
  CopyObject: [],
  UploadPart: ["uploadId", "partNumber"],
  UploadPartCopy: ["uploadId", "partNumber"],
  ListParts: ["uploadId", "max-parts", "part-number-marker", "encoding-type"],
  AbortMultipartUpload: ["uploadId"],
  CreateMultipartUpload: ["uploads"],
  CompleteMultipartUpload: ["uploadId"],
};

/** The operation a method and target name, before its parameters are checked. */
function candidateOperation(
  method: string,
  target: Target,
  params: Set<string>,
  copy: boolean,
): S3Operation | undefined {
  const { bucket, key, query } = target;
  if (bucket === "") return method === "GET" ? "ListBuckets" : undefined;
  if (key === "") {
    switch (method) {
      case "PUT":
        return "CreateBucket";
      case "HEAD":
        return "HeadBucket";
      case "DELETE":
        return "DeleteBucket";
      case "POST":
        return params.has("delete") ? "DeleteObjects" : undefined;
      case "GET":
        if (params.has("uploads")) return "ListMultipartUploads";
        if (params.has("location")) return "GetBucketLocation";
        if (params.has("versions")) return "ListObjectVersions";
        if (params.has("versioning")) return "GetBucketVersioning";
        if (params.has("list-type"))
          return query.get("list-type") === "2" ? "ListObjectsV2" : undefined;
        return "ListObjects";
    }
    return undefined;
  }
  switch (method) {
    case "PUT":
      if (params.has("uploadId") || params.has("partNumber"))
        return copy ? "UploadPartCopy" : "UploadPart";
      return copy ? "CopyObject" : "PutObject";
    case "GET":
      if (params.has("tagging")) return "GetObjectTagging";
      return params.has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return params.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    case "POST":
      if (params.has("uploads")) return "CreateMultipartUpload";
      if (params.has("uploadId")) return "CompleteMultipartUpload";
      return undefined;
  }
  return undefined;
}

/** Maps method + path + query to the S3 operation, or throws NotImplemented. */
export function operationOf(method: string, target: Target, copy: boolean): S3Operation {
  const { bucket, key } = target;
  const params = new Set([...target.query.keys()].filter((name) => !isNeutralParam(name)));
  const operation = candidateOperation(method, target, params, copy);
  const allowed = operation === undefined ? undefined : (OPERATION_PARAMS[operation] ?? []);
  const unknown = [...params].filter((name) => !allowed?.includes(name));
  if (operation !== undefined && unknown.length === 0) return operation;
  const what = (operation === undefined ? [...params] : unknown).join("&");
  throw new S3Error(
    "NotImplemented",
    `${method} ${bucket === "" ? "/" : key === "" ? "bucket" : "object"}${what === "" ? "" : `?${what}`} is not implemented by the local S3 server`,
  );
}
