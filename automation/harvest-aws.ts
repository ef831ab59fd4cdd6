/**
 * The AWS harvester: CloudWatch Logs Insights (raw records per run), polled until
 * `Complete`, retried while ingestion lags until a deadline; then `FilterLogEvents`; then
 * the invocations' log tails. Whatever is still missing is counted, never dropped silently.
 */
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  type Harvester,
  type HarvestRequest,
  type HarvestResult,
  RecordMerger,
  sleep,
  tailLines,
} from "./harvest";
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
  ): Promise<{ status: QueryStatus; rows: { field: string; value: string }[][] }>;
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

/** {@link LogsApi} over a real CloudWatch Logs client. */
export function cloudWatchLogsApi(client: CloudWatchLogsClient): LogsApi {
  return {
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
      return { status, rows };
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
  /** Pause between re-queries, ms. */
  readonly retryMs?: number;
  /** Slack around the run's client times in the query range, ms. */
  readonly slackMs?: number;
  readonly now?: () => number;
}

/**
 * Runs a query and polls until its status is `Complete` — not merely "not Running": a
 * Scheduled query has no results yet, and Failed, Cancelled, Timeout and Unknown are errors.
 */
export async function runInsightsQuery(
  api: LogsApi,
  input: Parameters<LogsApi["startQuery"]>[0],
  options: { pollMs: number; timeoutMs: number; now: () => number },
  signal?: AbortSignal,
): Promise<{ field: string; value: string }[][]> {
  const queryId = await api.startQuery(input, signal);
  const deadline = options.now() + options.timeoutMs;
  for (;;) {
    const { status, rows } = await api.getQueryResults(queryId, signal);
    if (status === "Complete") return rows;
    if (status !== "Scheduled" && status !== "Running") {
      throw new QueryFailedError(`Logs Insights query ${queryId} ended with status ${status}`);
    }
    if (options.now() >= deadline) {
      throw new QueryFailedError(
        `Logs Insights query ${queryId} still ${status} after ${options.timeoutMs} ms`,
      );
    }
    await sleep(options.pollMs, signal);
  }
}

/** Harvests runs from CloudWatch Logs. */
export class AwsHarvester implements Harvester {
  private readonly o: Required<AwsHarvesterOptions>;

  constructor(
    private readonly api: LogsApi,
    options: AwsHarvesterOptions = {},
  ) {
    this.o = {
      pollMs: options.pollMs ?? 1000,
      queryTimeoutMs: options.queryTimeoutMs ?? 120_000,
      lagDeadlineMs: options.lagDeadlineMs ?? 180_000,
      retryMs: options.retryMs ?? 10_000,
      slackMs: options.slackMs ?? 60_000,
      now: options.now ?? Date.now,
    };
  }

  async harvest(request: HarvestRequest, signal?: AbortSignal): Promise<HarvestResult> {
    const merger = new RecordMerger(request.runId, request.invocations);
    const logGroupName = request.deployed.logGroup;
    const startMs = request.startMs - this.o.slackMs;
    const deadline = this.o.now() + this.o.lagDeadlineMs;
    let insightsError: string | undefined;
    while (!merger.complete) {
      try {
        const rows = await runInsightsQuery(
          this.api,
          {
            logGroupName,
            startTimeS: Math.floor(startMs / 1000),
            endTimeS: Math.ceil((this.o.now() + this.o.slackMs) / 1000),
            queryString: rawRecordsQuery(request.runId),
            limit: INSIGHTS_MAX_ROWS,
          },
          { pollMs: this.o.pollMs, timeoutMs: this.o.queryTimeoutMs, now: this.o.now },
          signal,
        );
        merger.addLines(
          "insights",
          rows.flatMap((row) => row.filter((f) => f.field === "@message").map((f) => f.value)),
        );
      } catch (e: unknown) {
        if (!(e instanceof QueryFailedError)) throw e;
        // A failed query is retried like lag; the fallbacks below still run.
        insightsError = e.message;
      }
      if (merger.complete || this.o.now() >= deadline) break;
      await sleep(this.o.retryMs, signal);
    }
    if (!merger.complete) {
      let nextToken: string | undefined;
      do {
        const page = await this.api.filterLogEvents(
          {
            logGroupName,
            startTimeMs: startMs,
            endTimeMs: this.o.now() + this.o.slackMs,
            filterPattern: runFilterPattern(request.runId),
            ...(nextToken === undefined ? {} : { nextToken }),
          },
          signal,
        );
        merger.addLines("filter-log-events", page.messages);
        nextToken = page.nextToken;
      } while (nextToken !== undefined && !merger.complete);
    }
    if (!merger.complete) merger.addLines("tail", tailLines(request.invocations));
    const result = merger.result();
    return insightsError === undefined ? result : { ...result, notes: [insightsError] };
  }
}
