/**
 * Fault injection for tests: fail, drop or delay chosen requests. Off unless a rule is injected.
 */

/** The S3 operations the local server implements, as named in the S3 API reference. */
export type S3Operation =
  | "CreateBucket"
  | "HeadBucket"
  | "DeleteBucket"
  | "ListBuckets"
  | "PutObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "ListObjectsV2"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListMultipartUploads"
  | "ListParts"
  | "ListObjects"
  | "DeleteObjects"
  | "GetBucketLocation"
  | "CopyObject"
  | "UploadPartCopy"
  | "ListObjectVersions"
  | "GetObjectTagging"
  | "GetBucketVersioning";

/** One fault: which requests it hits and what happens to them. */
export interface FaultRule {
  /** The operation whose requests are matched, or "*" for every request. */
  operation: S3Operation | "*";
  /** 1-based: only the nth matching request after the rule was added (default: every one). */
  nth?: number;
  /** "error": an S3 error response; "drop": the socket is destroyed with no response; "latency": a delay before handling. */
  action: "error" | "drop" | "latency";
  /** HTTP status for "error" (default 500). */
  status?: number;
  /** S3 error code for "error" (default "InternalError"). */
  code?: string;
  /** Delay for "latency", milliseconds. */
  latencyMs?: number;
}

/** Adds and removes fault rules of a running server. */
export interface FaultInjector {
  /** Adds a rule; it counts matching requests from now on. */
  inject(rule: FaultRule): void;
  /** Removes every rule. */
  clear(): void;
}

/** What the server must do with one request, decided by {@link FaultRules.decide}. */
export interface FaultDecision {
  /** Milliseconds to wait before handling (sum of matching latency rules). */
  latencyMs: number;
  /** The first matching "error" or "drop" rule, if any. */
  fail?: FaultRule;
}

interface ActiveRule {
  rule: FaultRule;
  seen: number;
}

/** The server-side rule set: a {@link FaultInjector} that also decides per request. */
export class FaultRules implements FaultInjector {
  private rules: ActiveRule[] = [];

  inject(rule: FaultRule): void {
    if (rule.nth !== undefined && (!Number.isInteger(rule.nth) || rule.nth < 1)) {
      throw new RangeError(`FaultRule.nth=${rule.nth} is invalid: allowed an integer >= 1`);
    }
    this.rules.push({ rule: { ...rule }, seen: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** Counts the request against every matching rule and returns what to do with it. */
  decide(operation: S3Operation): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const active of this.rules) {
      const { rule } = active;
      if (rule.operation !== "*" && rule.operation !== operation) continue;
      active.seen += 1;
      if (rule.nth !== undefined && active.seen !== rule.nth) continue;
      if (rule.action === "latency") decision.latencyMs += rule.latencyMs ?? 0;
      else decision.fail ??= rule;
    }
    return decision;
  }
}
