/**
 * CloudWatch Logs Insights as the harvester uses it: one query run to `Complete` with retries,
 * pacing and a timeout, and the time windows that page a result over the 10,000-row cap.
 */
import { sleep } from "./harvest";
import { type InsightsRow, type LogsApi, sharedLimiter } from "./logs-api";
import type { LogsLimiter } from "./logs-quota";
import { DEFAULT_RETRY_POLICY, LogsCallError, type RetryPolicy, withRetry } from "./logs-retry";
import { rawRecordsQuery } from "./queries";

/** A Logs Insights query that ended without results. */
export class QueryFailedError extends Error {
  override readonly name = "QueryFailedError";
}

/** What one Insights query returned. */
export interface InsightsResult {
  readonly rows: InsightsRow[];
  readonly recordsMatched?: number;
}

/** How {@link runInsightsQuery} waits, retries and paces. */
export interface InsightsQueryOptions {
  readonly pollMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly retry?: RetryPolicy;
  /** Nothing is started or retried after this time (ms); default: none. */
  readonly deadline?: number;
  readonly limiter?: LogsLimiter;
}

/**
 * Runs a query and polls until its status is `Complete` — not merely "not Running": a
 * Scheduled query has no results yet, and Failed, Cancelled, Timeout and Unknown are errors.
 * The query holds a slot of the limiter from StartQuery to its end; one that does not complete
 * in time is stopped (best effort) so it frees its slot on the service too.
 */
export async function runInsightsQuery(
  api: LogsApi,
  input: Parameters<LogsApi["startQuery"]>[0],
  options: InsightsQueryOptions,
  signal?: AbortSignal,
): Promise<InsightsResult> {
  const wait = options.sleep ?? sleep;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const retry = {
    policy: options.retry ?? DEFAULT_RETRY_POLICY,
    clock: { now: options.now, sleep: wait, random: options.random ?? Math.random },
    deadline,
    signal,
  };
  const release = await (options.limiter ?? sharedLimiter(api)).acquireQuery(signal);
  try {
    const queryId = await withRetry("StartQuery", () => api.startQuery(input, signal), retry);
    const queryDeadline = Math.min(options.now() + options.timeoutMs, deadline);
    for (;;) {
      let r: Awaited<ReturnType<LogsApi["getQueryResults"]>>;
      try {
        r = await withRetry("GetQueryResults", () => api.getQueryResults(queryId, signal), retry);
      } catch (e: unknown) {
        // Given up while it may still run: free its slot on the service too.
        if (e instanceof LogsCallError) await stopQuietly(api, queryId, signal);
        throw e;
      }
      if (r.status === "Complete") {
        return r.recordsMatched === undefined
          ? { rows: r.rows }
          : { rows: r.rows, recordsMatched: r.recordsMatched };
      }
      if (r.status !== "Scheduled" && r.status !== "Running") {
        throw new QueryFailedError(`Logs Insights query ${queryId} ended with status ${r.status}`);
      }
      if (options.now() >= queryDeadline) {
        await stopQuietly(api, queryId, signal);
        if (options.now() >= deadline) {
          throw new LogsCallError(
            {
              code: "deadline",
              message: `harvest deadline passed while Logs Insights query ${queryId} was ${r.status}`,
            },
            1,
          );
        }
        throw new QueryFailedError(
          `Logs Insights query ${queryId} still ${r.status} after ${options.timeoutMs} ms`,
        );
      }
      await wait(options.pollMs, signal);
    }
  } finally {
    release();
  }
}

/** StopQuery for a query we give up; its failure changes nothing (the query times out anyway). */
async function stopQuietly(api: LogsApi, queryId: string, signal?: AbortSignal): Promise<void> {
  try {
    await api.stopQuery?.(queryId, signal);
  } catch (e: unknown) {
    if (signal?.aborted === true) throw e;
  }
}

/** `@timestamp` of an Insights row (`2023-11-14 22:13:20.000`, UTC) in ms, or NaN. */
export function rowTimestampMs(row: InsightsRow): number {
  const v = row.find((f) => f.field === "@timestamp")?.value;
  if (v === undefined) return Number.NaN;
  return Date.parse(`${v.replace(" ", "T")}Z`);
}

/** A query time window, whole seconds, both ends inclusive (as StartQuery's range). */
export interface QueryWindow {
  readonly startS: number;
  readonly endS: number;
}

/**
 * The windows still to query after `window` returned a capped result (10,000 rows, or fewer
 * rows than `recordsMatched`). Rows sorted by `@timestamp` ascending (as {@link rawRecordsQuery}
 * asks) hold everything before the second of the last row, so the rest is that second to the
 * end; rows in any other order are bisected at the middle second. `stuck` is true when one
 * second alone is capped: it cannot be split by time, the rest of the window is still queried.
 */
export function remainingWindows(
  window: QueryWindow,
  rows: readonly InsightsRow[],
): { windows: QueryWindow[]; stuck: boolean } {
  const ts = rows.map(rowTimestampMs);
  const sorted =
    ts.length > 0 && ts.every((t, i) => !Number.isNaN(t) && (i === 0 || t >= (ts[i - 1] ?? t)));
  if (sorted) {
    const lastS = Math.floor((ts[ts.length - 1] ?? 0) / 1000);
    if (lastS > window.startS && lastS <= window.endS) {
      return { windows: [{ startS: lastS, endS: window.endS }], stuck: false };
    }
    if (lastS === window.startS) {
      return {
        windows:
          window.startS + 1 <= window.endS
            ? [{ startS: window.startS + 1, endS: window.endS }]
            : [],
        stuck: true,
      };
    }
  }
  if (window.endS - window.startS < 2) {
    // One or two seconds: the halves would not be smaller than the window.
    return {
      windows:
        window.endS > window.startS
          ? [
              { startS: window.startS, endS: window.startS },
              { startS: window.endS, endS: window.endS },
            ]
          : [],
      stuck: window.endS === window.startS,
    };
  }
  const mid = Math.floor((window.startS + window.endS) / 2);
  return {
    windows: [
      { startS: window.startS, endS: mid },
      { startS: mid, endS: window.endS },
    ],
    stuck: false,
  };
}
