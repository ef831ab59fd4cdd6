import type { Architecture } from "../core/cell";
import {
  CELL_LOG_FORMAT,
  endRecord,
  initStartRecord,
  reportRecord,
  startRecord,
} from "../core/lambda-logs";
import {
  lambdaComputeCost,
  lambdaRequestCost,
  logsIngestCost,
  type Pricing,
  s3PutCost,
} from "../core/pricing";

/** A representative request id: Lambda's are UUIDs, 36 characters. */
const REQUEST_ID = "8f5a2c1e-4b7d-4e9a-9c3f-1d2e3f4a5b6c";

function lineBytes(line: string | undefined): number {
  return line === undefined ? 0 : Buffer.byteLength(`${line}\n`);
}

const TYPICAL_REPORT = {
  requestId: REQUEST_ID,
  durationMs: 1234.56,
  memorySizeMb: 1024,
  maxMemoryUsedMb: 128,
  status: "success",
} as const;
const TYPICAL_TIME = Date.UTC(2026, 0, 1);

/**
 * Bytes of the system records Lambda writes around every invocation in the cells' log format
 * (core/lambda-logs.ts CELL_LOG_FORMAT), each with its newline. Built by the same functions the
 * local runtime writes them with, from typical numbers, so the estimate is explainable; the exact
 * digits shift it by a few bytes per invocation.
 */
export const PLATFORM_LOG_BYTES = {
  start: lineBytes(startRecord(CELL_LOG_FORMAT, TYPICAL_TIME, REQUEST_ID)),
  end: lineBytes(
    endRecord(CELL_LOG_FORMAT, TYPICAL_TIME, {
      requestId: REQUEST_ID,
      status: "success",
      durationMs: 1234.56,
    }),
  ),
  report: lineBytes(reportRecord(CELL_LOG_FORMAT, TYPICAL_TIME, TYPICAL_REPORT)),
  /** Added on a cold start: the INIT record and REPORT's Init Duration. */
  init:
    lineBytes(
      initStartRecord(CELL_LOG_FORMAT, TYPICAL_TIME, {
        functionName: "s3-experiment-events-1024mb-b10-rc0",
        runtimeVersion: "nodejs:22.v50",
      }),
    ) +
    lineBytes(
      reportRecord(CELL_LOG_FORMAT, TYPICAL_TIME, { ...TYPICAL_REPORT, initDurationMs: 150 }),
    ) -
    lineBytes(reportRecord(CELL_LOG_FORMAT, TYPICAL_TIME, TYPICAL_REPORT)),
} as const;

/** The usage a cost is computed from (one run or a whole cell). */
export interface Usage {
  readonly memoryMb: number;
  readonly architecture: Architecture;
  /** Invocations that reached the function: billed requests. */
  readonly requests: number;
  /** Billed milliseconds: REPORT's Billed Duration (INIT included where Lambda bills it). */
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
