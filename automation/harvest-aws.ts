/**
 * The AWS harvester: CloudWatch Logs Insights (raw records per run, paged by time window under
 * the 10,000-row cap), polled until `Complete`, re-queried while ingestion lags until a
 * deadline; then `FilterLogEvents`; then the invocations' log tails. Calls are retried with
 * backoff within the quotas (`logs-retry.ts`, `logs-quota.ts`); an error that retrying cannot
 * cure ends that source, never the harvest: whatever is still missing is counted, with a reason.
 */
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  type Harvester,
  type HarvestRequest,
  type HarvestResult,
  RecordMerger,
  sleep,
  tailLines,
} from "./harvest";
import { LogsLimiter } from "./logs-quota";
import {
  classifyLogsError,
  DEFAULT_RETRY_POLICY,
  type HarvestReason,
  LOGS_CLIENT_CONFIG,
  LogsCallError,
  type RetryClock,
  type RetryPolicy,
  withRetry,
} from "./logs-retry";
import { INSIGHTS_MAX_ROWS, rawRecordsQuery, runFilterPattern } from "./queries";

/** The status of a Logs Insights query. */
export type QueryStatus =
  | "Scheduled"
  | "Running"
  | "Complete"
  | "Failed"
  | "Cancelled"
  | "Timeout"
  | "Unknown";

/** One row of Insights results: its fields in order. */
export type InsightsRow = { field: string; value: string }[];

/** The narrow seam over CloudWatch Logs the harvester uses (a fake in tests). */
export interface LogsApi {
  startQuery(
    input: {
      logGroupName: string;
      startTimeS: number;
      endTimeS: number;
      queryString: string;
      limit: number;
    },
    signal?: AbortSignal,
  ): Promise<string>;
  getQueryResults(
    queryId: string,
    signal?: AbortSignal,
  ): Promise<{
    status: QueryStatus;
    rows: InsightsRow[];
    /** `statistics.recordsMatched`: events that matched, before `limit` cut them. */
    recordsMatched?: number;
  }>;
  /** Stops a query that is given up, so it no longer holds one of the 30 slots. */
  stopQuery?(queryId: string, signal?: AbortSignal): Promise<void>;
  filterLogEvents(
    input: {
      logGroupName: string;
      startTimeMs: number;
      endTimeMs: number;
      filterPattern: string;
      nextToken?: string;
    },
    signal?: AbortSignal,
  ): Promise<{ messages: string[]; nextToken?: string }>;
}

function opts(signal?: AbortSignal): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

const STATUSES: readonly QueryStatus[] = [
  "Scheduled",
  "Running",
  "Complete",
  "Failed",
  "Cancelled",
  "Timeout",
  "Unknown",
];

/**
 * A CloudWatch Logs client for the harvester on AWS ({@link LOGS_CLIENT_CONFIG}): the SDK makes
 * one attempt per call because the harvester retries, paced (see logs-retry.ts), and each
 * request times out after 30 s. The local backend's client is local/logs localLogsClient with
 * the same config.
 */
export function harvestLogsClient(region: string): CloudWatchLogsClient {
  return new CloudWatchLogsClient({ region, ...LOGS_CLIENT_CONFIG });
}

const apis = new WeakMap<CloudWatchLogsClient, LogsApi>();
const limiters = new WeakMap<LogsApi, LogsLimiter>();

/**
 * The limiter shared by every harvester on `api` (one per client, since {@link cloudWatchLogsApi}
 * returns one api per client): `--parallel` cells harvesting at once share the quotas.
 */
export function sharedLimiter(api: LogsApi): LogsLimiter {
  let limiter = limiters.get(api);
  if (limiter === undefined) {
    limiter = new LogsLimiter();
    limiters.set(api, limiter);
  }
  return limiter;
}

/** {@link LogsApi} over a real CloudWatch Logs client (the same object for the same client). */
export function cloudWatchLogsApi(client: CloudWatchLogsClient): LogsApi {
  const known = apis.get(client);
  if (known !== undefined) return known;
  const api: LogsApi = {
    async startQuery(input, signal) {
      const out = await client.send(
        new StartQueryCommand({
          logGroupName: input.logGroupName,
          startTime: input.startTimeS,
          endTime: input.endTimeS,
          queryString: input.queryString,
          limit: input.limit,
        }),
        opts(signal),
      );
      if (out.queryId === undefined) throw new Error("StartQuery returned no queryId");
      return out.queryId;
    },
    async getQueryResults(queryId, signal) {
      const out = await client.send(new GetQueryResultsCommand({ queryId }), opts(signal));
      const status = (STATUSES as readonly string[]).includes(out.status ?? "")
        ? (out.status as QueryStatus)
        : "Unknown";
      const rows = (out.results ?? []).map((row) =>
        row.map((f) => ({ field: f.field ?? "", value: f.value ?? "" })),
      );
      const matched = out.statistics?.recordsMatched;
      return matched === undefined ? { status, rows } : { status, rows, recordsMatched: matched };
    },
    async stopQuery(queryId, signal) {
      await client.send(new StopQueryCommand({ queryId }), opts(signal));
    },
    async filterLogEvents(input, signal) {
      const out = await client.send(
        new FilterLogEventsCommand({
          logGroupName: input.logGroupName,
          startTime: input.startTimeMs,
          endTime: input.endTimeMs,
          filterPattern: input.filterPattern,
          ...(input.nextToken === undefined ? {} : { nextToken: input.nextToken }),
        }),
        opts(signal),
      );
      const messages = (out.events ?? []).flatMap((e) =>
        e.message === undefined ? [] : [e.message],
      );
      return out.nextToken === undefined ? { messages } : { messages, nextToken: out.nextToken };
    },
  };
  apis.set(client, api);
  return api;
}

/** A Logs Insights query that ended without results. */
export class QueryFailedError extends Error {
  override readonly name = "QueryFailedError";
}

/** Timing of the AWS harvester. */
export interface AwsHarvesterOptions {
  /** Pause between GetQueryResults polls, ms. */
  readonly pollMs?: number;
  /** Longest wait for one query to reach Complete, ms. */
  readonly queryTimeoutMs?: number;
  /** How long to keep re-querying while records are missing (ingestion lag), ms. */
  readonly lagDeadlineMs?: number;
  /**
   * Longest whole harvest of one run, ms: past it no call is started or retried, the tails are
   * read and the rest is counted missing with reason `deadline`.
   */
  readonly deadlineMs?: number;
  /** Pause between re-queries, ms. */
  readonly retryMs?: number;
  /** Slack around the run's client times in the query range, ms. */
  readonly slackMs?: number;
  /** Backoff of throttled and failed calls. */
  readonly retry?: RetryPolicy;
  /** Quota pacing; default: the one shared by all harvesters on the same api. */
  readonly limiter?: LogsLimiter;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
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

/** Harvests runs from CloudWatch Logs. */
export class AwsHarvester implements Harvester {
  private readonly o: Required<Omit<AwsHarvesterOptions, "limiter">>;
  private readonly limiter: LogsLimiter;
  private readonly clock: RetryClock;

  constructor(
    private readonly api: LogsApi,
    options: AwsHarvesterOptions = {},
  ) {
    this.o = {
      pollMs: options.pollMs ?? 1000,
      queryTimeoutMs: options.queryTimeoutMs ?? 120_000,
      lagDeadlineMs: options.lagDeadlineMs ?? 180_000,
      deadlineMs: options.deadlineMs ?? 600_000,
      retryMs: options.retryMs ?? 10_000,
      slackMs: options.slackMs ?? 60_000,
      retry: options.retry ?? DEFAULT_RETRY_POLICY,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? sleep,
      random: options.random ?? Math.random,
    };
    this.limiter = options.limiter ?? sharedLimiter(api);
    this.clock = { now: this.o.now, sleep: this.o.sleep, random: this.o.random };
  }

  async harvest(request: HarvestRequest, signal?: AbortSignal): Promise<HarvestResult> {
    const merger = RecordMerger.forRequest(request);
    const logGroupName = request.deployed.logGroup;
    const startMs = request.startMs - this.o.slackMs;
    const now = this.o.now();
    // Log events carry the time the function wrote them (before the client saw the response),
    // so the run's end plus slack bounds them however late they are ingested (and a later
    // --reharvest does not scan days of an empty range).
    const endMs = request.endMs + this.o.slackMs;
    const deadline = now + this.o.deadlineMs;
    const lagDeadline = Math.min(now + this.o.lagDeadlineMs, deadline);
    const notes: string[] = [];
    /** The last error that ended a source: the reason when records stay missing. */
    let failure: HarvestReason | undefined;
    let capped: string | undefined;

    // Only an abort and a defect of ours end the harvest; any other error ends the source,
    // with a reason, so the cell's other runs are still harvested and its records counted.
    const ended = (e: unknown, source: string): void => {
      if (signal?.aborted === true || e instanceof TypeError || e instanceof RangeError) throw e;
      failure =
        e instanceof LogsCallError
          ? e.reason
          : {
              code: classifyLogsError(e)?.code ?? "rejected",
              message: `${source}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
            };
      notes.push(`${source} stopped: ${failure.code}: ${failure.message}`);
    };

    let queryFailure: string | undefined;
    while (!merger.complete) {
      try {
        capped = await this.insightsPass(request.runId, logGroupName, startMs, endMs, merger, {
          deadline,
          signal,
        });
        queryFailure = undefined;
        if (capped !== undefined && !notes.includes(capped)) notes.push(capped);
        // A second over the cap stays over it: FilterLogEvents pages what Insights cannot.
        if (capped !== undefined) break;
      } catch (e: unknown) {
        if (e instanceof QueryFailedError) {
          // A failed query is retried like lag; the fallbacks below still run.
          queryFailure = e.message;
          if (!notes.includes(e.message)) notes.push(e.message);
        } else {
          ended(e, "insights");
          break;
        }
      }
      if (merger.complete || this.o.now() >= lagDeadline) break;
      await this.o.sleep(this.o.retryMs, signal);
    }
    if (queryFailure !== undefined && failure === undefined && !merger.complete) {
      failure = { code: "query-failed", message: queryFailure };
    }

    if (!merger.complete) {
      try {
        let nextToken: string | undefined;
        do {
          const token = nextToken;
          const page = await withRetry(
            "FilterLogEvents",
            () =>
              this.api.filterLogEvents(
                {
                  logGroupName,
                  startTimeMs: startMs,
                  endTimeMs: endMs,
                  filterPattern: runFilterPattern(request.runId),
                  ...(token === undefined ? {} : { nextToken: token }),
                },
                signal,
              ),
            {
              policy: this.o.retry,
              clock: this.clock,
              deadline,
              signal,
              // Every attempt, retries included, takes a slot of the 5 TPS.
              before: () => this.limiter.paceFilterLogEvents(signal),
            },
          );
          merger.addLines("filter-log-events", page.messages);
          nextToken = page.nextToken;
        } while (nextToken !== undefined && !merger.complete);
        // FilterLogEvents read the whole range: what it did not find is not in the logs (yet),
        // whatever stopped Insights before.
        failure = undefined;
        capped = undefined;
      } catch (e: unknown) {
        ended(e, "filter-log-events");
      }
    }
    if (!merger.complete) merger.addLines("tail", tailLines(request.invocations));
    const result = merger.result();
    const reason: HarvestReason | undefined =
      result.missing === 0
        ? undefined
        : (failure ??
          (capped !== undefined
            ? { code: "insights-capped", message: capped }
            : {
                code: "not-in-logs",
                message: `${result.missing} of ${result.expected} records found in none of Logs Insights, FilterLogEvents and the log tails`,
              }));
    return {
      ...result,
      ...(notes.length === 0 ? {} : { notes }),
      ...(reason === undefined ? {} : { reason }),
    };
  }

  /**
   * Queries the run's records over [startMs, endMs], window by window, until no window is
   * capped. Returns a note when a window could not be paged (one second over the cap).
   */
  private async insightsPass(
    runId: string,
    logGroupName: string,
    startMs: number,
    endMs: number,
    merger: RecordMerger,
    o: { deadline: number; signal: AbortSignal | undefined },
  ): Promise<string | undefined> {
    const windows: QueryWindow[] = [
      { startS: Math.floor(startMs / 1000), endS: Math.ceil(endMs / 1000) },
    ];
    let stuckNote: string | undefined;
    for (let w = windows.shift(); w !== undefined; w = windows.shift()) {
      const { rows, recordsMatched } = await runInsightsQuery(
        this.api,
        {
          logGroupName,
          startTimeS: w.startS,
          endTimeS: w.endS,
          queryString: rawRecordsQuery(runId),
          limit: INSIGHTS_MAX_ROWS,
        },
        {
          pollMs: this.o.pollMs,
          timeoutMs: this.o.queryTimeoutMs,
          now: this.o.now,
          sleep: this.o.sleep,
          random: this.o.random,
          retry: this.o.retry,
          deadline: o.deadline,
          limiter: this.limiter,
        },
        o.signal,
      );
      merger.addLines(
        "insights",
        rows.flatMap((row) => row.filter((f) => f.field === "@message").map((f) => f.value)),
      );
      const isCapped = rows.length >= INSIGHTS_MAX_ROWS || (recordsMatched ?? 0) > rows.length;
      if (!isCapped || merger.complete) continue;
      const next = remainingWindows(w, rows);
      if (next.stuck) {
        stuckNote = `more than ${INSIGHTS_MAX_ROWS} rows within one second at ${new Date(w.startS * 1000).toISOString()}: Logs Insights cannot page them`;
      }
      windows.unshift(...next.windows);
    }
    return stuckNote;
  }
}
