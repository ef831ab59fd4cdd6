/**
 * Logs Insights queries of the local server: `StartQuery` parses and schedules, the query
 * runs (`Scheduled` → `Running` → `Complete`), `GetQueryResults` reports it, `StopQuery`
 * cancels it. At most {@link INSIGHTS_LIMITS.concurrentQueries} run at once, as on AWS.
 */
import { randomUUID } from "node:crypto";
import { LOCAL_ACCOUNT_ID } from "../lambda/runtime";
import { groupNotFound, LogsError } from "./errors";
import type { FaultState } from "./faults";
import { type QueryOutput, runCommands } from "./insights-eval";
import { type Command, parseQuery, QUERY_MAX_ROWS } from "./insights-parser";
import { groupFromIdentifier, type Params } from "./params";
import type { LogView } from "./view";

/** Quotas of Logs Insights the local server enforces. */
export const INSIGHTS_LIMITS = {
  /** Queries Scheduled or Running at once per account and region. */
  concurrentQueries: 30,
  /** Log groups one query may name. */
  maxLogGroups: 50,
  /** Longest query string, characters. */
  maxQueryLength: 10_000,
  /** Finished queries kept for GetQueryResults. */
  keptQueries: 1_000,
} as const;

type Status = "Scheduled" | "Running" | "Complete" | "Cancelled" | "Failed";

interface Query {
  status: Status;
  output?: QueryOutput;
  timer?: NodeJS.Timeout;
}

/** The queries of one server. */
export class QueryManager {
  private readonly queries = new Map<string, Query>();

  constructor(
    private readonly view: LogView,
    private readonly faults: FaultState,
  ) {}

  /** StartQuery: validates, parses (MalformedQueryException) and schedules; `{ queryId }`. */
  start(p: Params): Record<string, unknown> {
    const language = p.str("queryLanguage");
    if (language !== undefined && language !== "CWLI") {
      throw new LogsError(
        "InvalidParameterException",
        `queryLanguage ${language} is not supported locally: allowed CWLI`,
      );
    }
    const groups = this.groups(p);
    const startTime = p.int("startTime", 0, Number.MAX_SAFE_INTEGER);
    const endTime = p.int("endTime", 0, Number.MAX_SAFE_INTEGER);
    const queryString = p.str("queryString");
    const limit = p.int("limit", 1, QUERY_MAX_ROWS) ?? QUERY_MAX_ROWS;
    if (startTime === undefined || endTime === undefined || queryString === undefined) {
      throw new LogsError(
        "InvalidParameterException",
        "startTime, endTime and queryString are required.",
      );
    }
    if (endTime < startTime) {
      throw new LogsError(
        "InvalidParameterException",
        "End time should not be before the start time",
      );
    }
    if (queryString.length > INSIGHTS_LIMITS.maxQueryLength) {
      throw new LogsError(
        "InvalidParameterException",
        `queryString is longer than ${INSIGHTS_LIMITS.maxQueryLength} characters`,
      );
    }
    const commands = parseQuery(queryString);
    for (const g of groups) if (!this.view.hasGroup(g)) throw groupNotFound();
    const running = [...this.queries.values()].filter(
      (q) => q.status === "Scheduled" || q.status === "Running",
    ).length;
    if (running >= INSIGHTS_LIMITS.concurrentQueries) {
      throw new LogsError(
        "LimitExceededException",
        `Account maximum query concurrency limit of [${INSIGHTS_LIMITS.concurrentQueries}] reached.`,
      );
    }
    const queryId = randomUUID();
    const query: Query = { status: "Scheduled" };
    this.queries.set(queryId, query);
    this.forgetOld();
    // The range is in seconds and inclusive: an event counts when its second is within it.
    const range = { fromMs: startTime * 1000, toMs: endTime * 1000 + 999 };
    const runMs = this.faults.faults.insightsRunMs ?? 0;
    query.timer = setTimeout(() => {
      query.status = "Running";
      query.timer = setTimeout(() => {
        query.timer = undefined;
        if (query.status !== "Running") return;
        try {
          query.output = this.run(commands, groups, range, limit);
          query.status = "Complete";
        } catch {
          query.status = "Failed";
        }
      }, runMs);
    }, 0);
    return { queryId };
  }

  /** GetQueryResults: the status, and the rows and statistics once Complete. */
  results(p: Params): Record<string, unknown> {
    const query = this.find(p);
    const output = query.output ?? {
      rows: [],
      statistics: { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 },
    };
    return {
      queryLanguage: "CWLI",
      results: output.rows,
      statistics: output.statistics,
      status: query.status,
    };
  }

  /** StopQuery: cancels a Scheduled or Running query; `success: false` for a finished one. */
  stop(p: Params): Record<string, unknown> {
    const query = this.find(p);
    if (query.status !== "Scheduled" && query.status !== "Running") return { success: false };
    clearTimeout(query.timer);
    query.status = "Cancelled";
    return { success: true };
  }

  /** Cancels every running query (server stop). */
  close(): void {
    for (const q of this.queries.values()) {
      clearTimeout(q.timer);
      if (q.status === "Scheduled" || q.status === "Running") q.status = "Cancelled";
    }
  }

  private groups(p: Params): string[] {
    const name = p.str("logGroupName");
    const names = p.strings("logGroupNames");
    const ids = p.strings("logGroupIdentifiers");
    const given = [name, names, ids].filter((g) => g !== undefined);
    if (given.length !== 1) {
      throw new LogsError(
        "InvalidParameterException",
        "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be specified.",
      );
    }
    const groups = name !== undefined ? [name] : (names ?? (ids ?? []).map(groupFromIdentifier));
    if (groups.length < 1 || groups.length > INSIGHTS_LIMITS.maxLogGroups) {
      throw new LogsError(
        "InvalidParameterException",
        `A query takes 1 to ${INSIGHTS_LIMITS.maxLogGroups} log groups.`,
      );
    }
    return groups;
  }

  private find(p: Params): Query {
    const id = p.str("queryId");
    const query = id === undefined ? undefined : this.queries.get(id);
    if (query === undefined)
      throw new LogsError("ResourceNotFoundException", `Query ${id ?? ""} does not exist.`);
    return query;
  }

  private run(
    commands: readonly Command[],
    groups: readonly string[],
    range: { fromMs: number; toMs: number },
    limit: number,
  ): QueryOutput {
    const events = groups.flatMap((group) =>
      this.view
        .events(group)
        .filter((e) => e.timestamp >= range.fromMs && e.timestamp <= range.toMs)
        .map((e) => ({
          timestamp: e.timestamp,
          ingestionTime: e.ingestionTime,
          message: e.message,
          logStreamName: e.logStreamName,
          log: `${LOCAL_ACCOUNT_ID}:${group}`,
          ptr: Buffer.from(JSON.stringify([group, e.logStreamName, e.index])).toString("base64url"),
        })),
    );
    events.sort((a, b) => a.timestamp - b.timestamp);
    return runCommands(commands, events, limit, (rows) => this.faults.partial(rows));
  }

  private forgetOld(): void {
    for (const [id, q] of this.queries) {
      if (this.queries.size <= INSIGHTS_LIMITS.keptQueries) break;
      if (q.status !== "Scheduled" && q.status !== "Running") this.queries.delete(id);
    }
  }
}
