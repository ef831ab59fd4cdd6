/** `DescribeLogGroups` and `DescribeLogStreams`, paged by name as CloudWatch pages them. */
import { LOCAL_ACCOUNT_ID } from "../lambda/runtime";
import { groupNotFound, LogsError } from "./errors";
import { decodeToken, encodeToken, type Params } from "./params";
import type { LogView } from "./view";

/** Default and most entries of one Describe page. */
export const DESCRIBE_PAGE = { defaultLimit: 50, maxLimit: 50 } as const;

function page<T>(
  items: readonly T[],
  p: Params,
  request: unknown,
): { items: T[]; nextToken?: string } {
  const limit = p.int("limit", 1, DESCRIBE_PAGE.maxLimit) ?? DESCRIBE_PAGE.defaultLimit;
  const token = p.str("nextToken");
  let start = 0;
  if (token !== undefined) {
    const pos = decodeToken(token, request);
    if (typeof pos !== "number" || !Number.isSafeInteger(pos) || pos < 0) {
      throw new LogsError("InvalidParameterException", "The specified nextToken is invalid.");
    }
    start = pos;
  }
  const items2 = items.slice(start, start + limit);
  const end = start + items2.length;
  return end < items.length
    ? { items: items2, nextToken: encodeToken(request, end) }
    : { items: items2 };
}

/** The ARN of a log group, as `logGroupArn` (without the trailing `:*` of `arn`). */
export function logGroupArn(region: string, group: string): string {
  return `arn:aws:logs:${region}:${LOCAL_ACCOUNT_ID}:log-group:${group}`;
}

/** DescribeLogGroups: groups by name, optionally by prefix. */
export function describeLogGroups(
  view: LogView,
  p: Params,
  region: string,
): Record<string, unknown> {
  const prefix = p.str("logGroupNamePrefix");
  const pattern = p.str("logGroupNamePattern");
  p.exclusive(
    prefix !== undefined && pattern !== undefined,
    "logGroupNamePrefix",
    "logGroupNamePattern",
  );
  const groups = view.store
    .listGroups()
    .filter(
      (g) =>
        (prefix === undefined || g.startsWith(prefix)) &&
        (pattern === undefined || g.includes(pattern)),
    );
  const { items, nextToken } = page(groups, p, { op: "groups", prefix, pattern });
  return {
    logGroups: items.map((logGroupName) => ({
      logGroupName,
      creationTime: view.store.groupCreatedMs(logGroupName),
      metricFilterCount: 0,
      arn: `${logGroupArn(region, logGroupName)}:*`,
      logGroupArn: logGroupArn(region, logGroupName),
      storedBytes: 0,
      logGroupClass: "STANDARD",
    })),
    ...(nextToken === undefined ? {} : { nextToken }),
  };
}

/** DescribeLogStreams: by name (optionally a prefix) or by last event time. */
export function describeLogStreams(
  view: LogView,
  p: Params,
  region: string,
): Record<string, unknown> {
  const group = p.logGroup();
  const prefix = p.str("logStreamNamePrefix");
  const orderBy = p.str("orderBy") ?? "LogStreamName";
  const descending = p.bool("descending") ?? false;
  if (orderBy !== "LogStreamName" && orderBy !== "LastEventTime") {
    throw new LogsError(
      "InvalidParameterException",
      `Invalid value ${JSON.stringify(orderBy)} for parameter orderBy: allowed LogStreamName, LastEventTime`,
    );
  }
  if (orderBy === "LastEventTime" && prefix !== undefined) {
    throw new LogsError(
      "InvalidParameterException",
      "Cannot order by LastEventTime with a logStreamNamePrefix.",
    );
  }
  if (!view.hasGroup(group)) throw groupNotFound();
  const streams = view.store
    .listStreams(group)
    .filter((s) => prefix === undefined || s.startsWith(prefix))
    .map((logStreamName) => {
      const events = view.events(group, [logStreamName]);
      const times = events.map((e) => e.timestamp);
      const ingested = events.map((e) => e.ingestionTime);
      return {
        logStreamName,
        creationTime:
          ingested.length > 0 ? Math.min(...ingested) : view.store.groupCreatedMs(group),
        ...(times.length > 0
          ? {
              firstEventTimestamp: Math.min(...times),
              lastEventTimestamp: Math.max(...times),
              lastIngestionTime: Math.max(...ingested),
            }
          : {}),
        arn: `${logGroupArn(region, group)}:log-stream:${logStreamName}`,
        storedBytes: 0,
      };
    });
  if (orderBy === "LastEventTime") {
    streams.sort((a, b) => (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0));
  }
  if (descending) streams.reverse();
  const { items, nextToken } = page(streams, p, {
    op: "streams",
    group,
    prefix,
    orderBy,
    descending,
  });
  return { logStreams: items, ...(nextToken === undefined ? {} : { nextToken }) };
}
