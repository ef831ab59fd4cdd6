/**
 * The CloudWatch Logs calls the harvester makes ({@link LogsApi}: Logs Insights' StartQuery,
 * GetQueryResults and StopQuery, and FilterLogEvents) over an SDK client, and the quota
 * limiter shared by every harvester on the same client.
 */
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { LogsLimiter } from "./logs-quota";
import { LOGS_CLIENT_CONFIG } from "./logs-retry";

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
