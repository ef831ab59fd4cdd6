/**
 * Fault injection of the local CloudWatch Logs server, off unless asked: ingestion lag, Logs
 * Insights answering with part of the matching records, slow queries, and ThrottlingException
 * on chosen calls. The faults are what the AWS harvester must survive on AWS.
 */
import { LogsError } from "./errors";

/** The operations the local CloudWatch Logs server implements. */
export const LOGS_OPERATIONS = [
  "FilterLogEvents",
  "StartQuery",
  "GetQueryResults",
  "StopQuery",
  "DescribeLogGroups",
  "DescribeLogStreams",
] as const;

/** One of {@link LOGS_OPERATIONS}. */
export type LogsOperation = (typeof LOGS_OPERATIONS)[number];

/** Calls of an operation that fail with `ThrottlingException`. */
export interface ThrottleRule {
  readonly operation: LogsOperation | "*";
  /** Only the nth matching call (1-based). */
  readonly nth?: number;
  /** Every nth matching call (the nth, 2nth, …). Without `nth` and `every`: every call. */
  readonly every?: number;
}

/** Faults of {@link startLogsServer}; every one is off by default. */
export interface LogsFaults {
  /** An event becomes visible to every operation this many ms after it was written. */
  readonly ingestionLagMs?: number;
  /**
   * Logs Insights sees only part of the matching records: the first `maxRecords` (oldest
   * first) or the first `fraction` (0–1, rounded down) of them; for the first `queries`
   * queries only (default every query).
   */
  readonly insightsPartial?: {
    readonly maxRecords?: number;
    readonly fraction?: number;
    readonly queries?: number;
  };
  /** A query stays `Running` this long before it completes, ms (default: at once). */
  readonly insightsRunMs?: number;
  readonly throttle?: readonly ThrottleRule[];
}

function checkCount(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) {
    throw new RangeError(`${name}=${v} is invalid: allowed an integer >= ${min}`);
  }
}

/** Validates faults; throws RangeError naming the bad one. */
export function checkFaults(f: LogsFaults): void {
  checkCount("faults.ingestionLagMs", f.ingestionLagMs, 0);
  checkCount("faults.insightsRunMs", f.insightsRunMs, 0);
  checkCount("faults.insightsPartial.maxRecords", f.insightsPartial?.maxRecords, 0);
  checkCount("faults.insightsPartial.queries", f.insightsPartial?.queries, 1);
  const fraction = f.insightsPartial?.fraction;
  if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`faults.insightsPartial.fraction=${fraction} is invalid: allowed 0 to 1`);
  }
  for (const r of f.throttle ?? []) {
    if (r.operation !== "*" && !(LOGS_OPERATIONS as readonly string[]).includes(r.operation)) {
      throw new RangeError(
        `faults.throttle operation=${r.operation} is invalid: allowed * or ${LOGS_OPERATIONS.join(", ")}`,
      );
    }
    checkCount("faults.throttle.nth", r.nth, 1);
    checkCount("faults.throttle.every", r.every, 1);
  }
}

/** The faults of one running server, with their call counters. */
export class FaultState {
  private readonly seen: number[];
  private partialQueries = 0;

  constructor(readonly faults: LogsFaults) {
    checkFaults(faults);
    this.seen = (faults.throttle ?? []).map(() => 0);
  }

  /** Counts a call against the throttle rules; throws ThrottlingException when one hits. */
  countCall(operation: LogsOperation): void {
    let hit = false;
    (this.faults.throttle ?? []).forEach((rule, i) => {
      if (rule.operation !== "*" && rule.operation !== operation) return;
      const n = (this.seen[i] ?? 0) + 1;
      this.seen[i] = n;
      if (
        rule.nth !== undefined ? n === rule.nth : rule.every === undefined || n % rule.every === 0
      ) {
        hit = true;
      }
    });
    if (hit) throw new LogsError("ThrottlingException", "Rate exceeded");
  }

  /** The part of a query's matching records Insights sees (all of them without the fault). */
  partial<T>(matched: readonly T[]): readonly T[] {
    const p = this.faults.insightsPartial;
    if (p === undefined) return matched;
    this.partialQueries++;
    if (p.queries !== undefined && this.partialQueries > p.queries) return matched;
    let keep = matched.length;
    if (p.fraction !== undefined) keep = Math.floor(keep * p.fraction);
    if (p.maxRecords !== undefined) keep = Math.min(keep, p.maxRecords);
    return matched.slice(0, keep);
  }
}
