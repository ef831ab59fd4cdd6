/**
 * The AWS harvester: CloudWatch Logs Insights (raw records per run, paged by time window under
 * the 10,000-row cap), polled until `Complete`, re-queried while ingestion lags until a
 * deadline; then `FilterLogEvents`; then the invocations' log tails. Calls are retried with
 * backoff within the quotas (`logs-retry.ts`, `logs-quota.ts`); an error that retrying cannot
 * cure ends that source, never the harvest: whatever is still missing is counted, with a reason.
 */
import {
  type Harvester,
  type HarvestRequest,
  type HarvestResult,
  RecordMerger,
  sleep,
  tailLines,
} from "./harvest";
import { QueryFailedError, type QueryWindow, remainingWindows, runInsightsQuery } from "./insights";
import { type LogsApi, sharedLimiter } from "./logs-api";
import type { LogsLimiter } from "./logs-quota";
import {
  classifyLogsError,
  DEFAULT_RETRY_POLICY,
  type HarvestReason,
  LogsCallError,
  type RetryClock,
  type RetryPolicy,
  withRetry,
} from "./logs-retry";
import { INSIGHTS_MAX_ROWS, rawRecordsQuery, runFilterPattern } from "./queries";

export { cloudWatchLogsApi, harvestLogsClient, type LogsApi } from "./logs-api";

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
