/** `FilterLogEvents`: a group's events in a time range matching a filter pattern, paged. */
import { groupNotFound, LogsError } from "./errors";
import { compileFilterPattern } from "./filter-pattern";
import { decodeToken, encodeToken, type Params } from "./params";
import type { ApiEvent, LogView } from "./view";

/** AWS's page limits of FilterLogEvents: 10,000 events or 1 MB of events. */
export const FILTER_PAGE = {
  maxEvents: 10_000,
  maxBytes: 1_048_576,
  eventOverheadBytes: 26,
} as const;

type Position = [timestamp: number, stream: string, index: number];

function isPosition(p: unknown): p is Position {
  return (
    Array.isArray(p) &&
    p.length === 3 &&
    typeof p[0] === "number" &&
    typeof p[1] === "string" &&
    typeof p[2] === "number"
  );
}

function after(e: ApiEvent, [t, s, i]: Position): boolean {
  if (e.timestamp !== t) return e.timestamp > t;
  if (e.logStreamName !== s) return e.logStreamName > s;
  return e.index > i;
}

/** FilterLogEvents over a view of the store. */
export function filterLogEvents(view: LogView, p: Params): Record<string, unknown> {
  const group = p.logGroup();
  const streams = p.strings("logStreamNames");
  const prefix = p.str("logStreamNamePrefix");
  p.exclusive(
    streams !== undefined && prefix !== undefined,
    "logStreamNames",
    "logStreamNamePrefix",
  );
  if (streams !== undefined && (streams.length < 1 || streams.length > 100)) {
    throw new LogsError("InvalidParameterException", "logStreamNames takes 1 to 100 names.");
  }
  const startTime = p.int("startTime", 0, Number.MAX_SAFE_INTEGER);
  const endTime = p.int("endTime", 0, Number.MAX_SAFE_INTEGER);
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
    throw new LogsError(
      "InvalidParameterException",
      `startTime (${startTime}) must not be after endTime (${endTime}).`,
    );
  }
  const pattern = p.str("filterPattern") ?? "";
  const limit = p.int("limit", 1, FILTER_PAGE.maxEvents) ?? FILTER_PAGE.maxEvents;
  const token = p.str("nextToken");
  if (!view.hasGroup(group)) throw groupNotFound();
  const matches = compileFilterPattern(pattern);
  const request = { group, streams, prefix, startTime, endTime, pattern };
  let position: Position | undefined;
  if (token !== undefined) {
    const decoded = decodeToken(token, request);
    if (!isPosition(decoded))
      throw new LogsError("InvalidParameterException", "The specified nextToken is invalid.");
    position = decoded;
  }
  const all = view.store.listStreams(group);
  const searched =
    streams !== undefined
      ? all.filter((s) => streams.includes(s))
      : all.filter((s) => prefix === undefined || s.startsWith(prefix));
  const events: ApiEvent[] = [];
  let bytes = 0;
  let more = false;
  for (const e of view.events(group, searched)) {
    if (startTime !== undefined && e.timestamp < startTime) continue;
    if (endTime !== undefined && e.timestamp > endTime) continue;
    if (position !== undefined && !after(e, position)) continue;
    if (!matches(e.message)) continue;
    const size = Buffer.byteLength(e.message) + FILTER_PAGE.eventOverheadBytes;
    if (events.length >= limit || (events.length > 0 && bytes + size > FILTER_PAGE.maxBytes)) {
      more = true;
      break;
    }
    events.push(e);
    bytes += size;
  }
  const last = events[events.length - 1];
  return {
    events: events.map((e) => ({
      logStreamName: e.logStreamName,
      timestamp: e.timestamp,
      message: e.message,
      ingestionTime: e.ingestionTime,
      eventId: e.eventId,
    })),
    searchedLogStreams: searched.map((logStreamName) => ({
      logStreamName,
      searchedCompletely: !more,
    })),
    ...(more && last !== undefined
      ? { nextToken: encodeToken(request, [last.timestamp, last.logStreamName, last.index]) }
      : {}),
  };
}
