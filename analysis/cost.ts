import type { Architecture } from "../core/cell";
import {
  lambdaComputeCost,
  lambdaRequestCost,
  logsIngestCost,
  type Pricing,
  s3PutCost,
} from "../core/pricing";

/** A representative request id: Lambda's are UUIDs, 36 characters. */
const REQUEST_ID = "8f5a2c1e-4b7d-4e9a-9c3f-1d2e3f4a5b6c";

/**
 * Bytes of the platform lines Lambda writes around every invocation (text log format), each
 * with its newline. Built from the real templates with typical numbers so the estimate is
 * explainable; the exact digits shift it by a few bytes per invocation.
 */
export const PLATFORM_LOG_BYTES = {
  start: Buffer.byteLength(`START RequestId: ${REQUEST_ID} Version: $LATEST\n`),
  end: Buffer.byteLength(`END RequestId: ${REQUEST_ID}\n`),
  report: Buffer.byteLength(
    `REPORT RequestId: ${REQUEST_ID}\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 1024 MB\tMax Memory Used: 128 MB\t\n`,
  ),
  /** Added to REPORT on a cold start. */
  init: Buffer.byteLength("Init Duration: 150.00 ms\t"),
} as const;

/** The usage a cost is computed from (one run or a whole cell). */
export interface Usage {
  readonly memoryMb: number;
  readonly architecture: Architecture;
  /** Invocations that reached the function: billed requests. */
  readonly requests: number;
  /** Billed milliseconds, init included. */
  readonly billedMs: number;
  /** S3 PUT-class requests. */
  readonly s3PutRequests: number;
  /** Estimated CloudWatch Logs bytes ingested. */
  readonly logBytes: number;
}

/** A cost broken down by service, USD. */
export interface CostBreakdown {
  readonly gbSeconds: number;
  readonly lambdaCompute: number;
  readonly lambdaRequests: number;
  readonly s3Put: number;
  readonly logsIngest: number;
  readonly total: number;
}

/**
 * Cost of a usage: Lambda compute = Σ billed ms / 1000 × memory MB / 1024 × $/GB-s (by
 * architecture); requests × $/request; S3 PUT-class requests × $/request; log bytes / 2³⁰ × $/GB.
 */
export function costOf(u: Usage, pricing: Pricing): CostBreakdown {
  const lambdaCompute = lambdaComputeCost(u.billedMs, u.memoryMb, u.architecture, pricing);
  const lambdaRequests = lambdaRequestCost(u.requests, pricing);
  const s3Put = s3PutCost(u.s3PutRequests, pricing);
  const logsIngest = logsIngestCost(u.logBytes, pricing);
  return {
    gbSeconds: (u.billedMs / 1000) * (u.memoryMb / 1024),
    lambdaCompute,
    lambdaRequests,
    s3Put,
    logsIngest,
    total: lambdaCompute + lambdaRequests + s3Put + logsIngest,
  };
}
