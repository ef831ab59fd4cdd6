import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AccessDeniedException,
  CloudWatchLogsClient,
  InvalidParameterException,
  LimitExceededException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
} from "@aws-sdk/client-cloudwatch-logs";
import { CredentialsProviderError } from "@smithy/core/config";
import t from "tap";
import { AwsHarvester } from "../../automation/harvest-aws";
import { remainingWindows, rowTimestampMs, runInsightsQuery } from "../../automation/insights";
import {
  cloudWatchLogsApi,
  harvestLogsClient,
  type LogsApi,
  type QueryStatus,
  sharedLimiter,
} from "../../automation/logs-api";
import { LogsLimiter } from "../../automation/logs-quota";
import {
  classifyLogsError,
  LOGS_CLIENT_CONFIG,
  LOGS_CLIENT_MAX_ATTEMPTS,
} from "../../automation/logs-retry";
import { rawRecordsQuery } from "../../automation/queries";
import { localLogsClient } from "../../local/logs";
import { DEPLOYED, emfLine, invocation, RUN } from "./fixtures";

interface FakeLogs extends LogsApi {
  readonly calls: string[];
}

/**
 * A fake CloudWatch Logs: each query answers the statuses in `statuses` in turn and then
 * Complete with the next batch of `insightsBatches` (ingestion lag: later queries see more).
 */
function fakeLogs(o: {
  statuses?: QueryStatus[];
  insightsBatches: number[][];
  filterPages?: number[][];
}): FakeLogs {
  const calls: string[] = [];
  let query = 0;
  let polls: QueryStatus[] = [];
  return {
    calls,
    async startQuery(input) {
      calls.push(`start ${input.logGroupName}`);
      polls = [...(o.statuses ?? [])];
      return `q${query++}`;
    },
    async getQueryResults(id) {
      const status = polls.shift() ?? "Complete";
      calls.push(`get ${id} ${status}`);
      const batch =
        o.insightsBatches[Math.min(Number(id.slice(1)), o.insightsBatches.length - 1)] ?? [];
      const rows =
        status === "Complete"
          ? batch.map((i) => [
              { field: "@timestamp", value: "2023-11-14 22:13:20.000" },
              { field: "@message", value: emfLine(i) },
            ])
          : [];
      return { status, rows };
    },
    async filterLogEvents(input) {
      const page = Number(input.nextToken ?? "0");
      calls.push(`filter ${input.filterPattern} ${page}`);
      const pages = o.filterPages ?? [];
      const messages = (pages[page] ?? []).map((i) => emfLine(i));
      return page + 1 < pages.length ? { messages, nextToken: String(page + 1) } : { messages };
    },
  };
}

const fast = { pollMs: 1, retryMs: 1, queryTimeoutMs: 1000 };

t.test("a query is polled through Scheduled and Running until Complete", async (t) => {
  const api = fakeLogs({
    statuses: ["Scheduled", "Running", "Running"],
    insightsBatches: [[0, 1]],
  });
  const rows = await runInsightsQuery(
    api,
    { logGroupName: "g", startTimeS: 0, endTimeS: 1, queryString: "q", limit: 10 },
    { pollMs: 1, timeoutMs: 1000, now: Date.now },
  );
  t.equal(rows.rows.length, 2, "two rows once Complete");
  t.same(
    api.calls,
    ["start g", "get q0 Scheduled", "get q0 Running", "get q0 Running", "get q0 Complete"],
    "polled until Complete",
  );
});

t.test("Failed, Cancelled and Timeout are errors, not empty results", async (t) => {
  for (const status of ["Failed", "Cancelled", "Timeout"] as const) {
    const api = fakeLogs({ statuses: ["Running", status], insightsBatches: [[0]] });
    await t.rejects(
      runInsightsQuery(
        api,
        { logGroupName: "g", startTimeS: 0, endTimeS: 1, queryString: "q", limit: 1 },
        { pollMs: 1, timeoutMs: 1000, now: Date.now },
      ),
      { name: "QueryFailedError", message: `Logs Insights query q0 ended with status ${status}` },
      status,
    );
  }
});

t.test(
  "ingestion lag: the harvester re-queries until every reached invocation is found",
  async (t) => {
    const api = fakeLogs({ insightsBatches: [[0], [0, 1], [0, 1, 2]] });
    const invocations = [
      invocation(0),
      invocation(1),
      invocation(2),
      invocation(3, { throttled: true }),
    ];
    const r = await new AwsHarvester(api, { ...fast, lagDeadlineMs: 10_000 }).harvest({
      deployed: DEPLOYED,
      runId: RUN,
      startMs: 0,
      endMs: 1,
      invocations,
    });
    t.equal(r.expected, 3, "the throttled invocation is not expected");
    t.equal(r.found, 3, "all found");
    t.equal(r.missing, 0, "none missing");
    t.equal(r.source, "insights", "Insights alone");
    t.equal(api.calls.filter((c) => c.startsWith("start")).length, 3, "three queries");
    t.equal(api.calls.filter((c) => c.startsWith("filter")).length, 0, "no FilterLogEvents needed");
  },
);

t.test(
  "after the lag deadline FilterLogEvents, then the log tails fill in; the rest is counted missing",
  async (t) => {
    const api = fakeLogs({ insightsBatches: [[0]], filterPages: [[1], [0, 2]] });
    const invocations = [
      invocation(0),
      invocation(1),
      invocation(2),
      invocation(3, { tail: true }),
      invocation(4),
    ];
    const r = await new AwsHarvester(api, { ...fast, lagDeadlineMs: 0 }).harvest({
      deployed: DEPLOYED,
      runId: RUN,
      startMs: 0,
      endMs: 1,
      invocations,
    });
    t.same(
      r.counts,
      { insights: 1, "filter-log-events": 2, tail: 1 },
      "each record counted once, by source",
    );
    t.equal(r.source, "insights+filter-log-events+tail", "sources in order");
    t.equal(r.found, 4, "four found");
    t.equal(r.missing, 1, "invocation 4 is missing and counted");
    t.same(
      r.records.map((x) => x.request_id),
      ["req-0", "req-1", "req-2", "req-3"],
      "records oldest first",
    );
    t.ok(api.calls.includes(`filter "${RUN}" 1`), "FilterLogEvents paged with the run's pattern");
  },
);

t.test("a failed query falls through to the fallbacks and is noted", async (t) => {
  const api = fakeLogs({ statuses: ["Failed"], insightsBatches: [[]], filterPages: [[0]] });
  const r = await new AwsHarvester(api, { ...fast, lagDeadlineMs: 0 }).harvest({
    deployed: DEPLOYED,
    runId: RUN,
    startMs: 0,
    endMs: 1,
    invocations: [invocation(0)],
  });
  t.equal(r.found, 1, "found by FilterLogEvents");
  t.same(r.notes, ["Logs Insights query q0 ended with status Failed"], "the failure is kept");
});

/** Time that moves only when the harvester sleeps: waits are recorded, nothing really waits. */
function fakeClock(start = 1_700_000_100_000) {
  let t = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    // Full jitter draws below the bound; 0.5 makes each wait exactly half of it.
    random: () => 0.5,
  };
}

const meta = { $metadata: {} };

/** A scripted LogsApi: each call takes the next step of its script (an error to throw, or ok). */
function scripted(o: {
  startQuery?: (Error | "ok")[];
  filter?: (Error | "ok")[];
  insightsRows?: number[];
  filterRows?: number[];
  now?: () => number;
}) {
  const calls: string[] = [];
  const at: Record<string, number[]> = { start: [], filter: [] };
  const step = (script: (Error | "ok")[] | undefined): void => {
    const s = script?.shift();
    if (s instanceof Error) throw s;
  };
  const api: LogsApi = {
    async startQuery() {
      calls.push("StartQuery");
      at.start?.push(o.now?.() ?? 0);
      step(o.startQuery);
      return "q1";
    },
    async getQueryResults() {
      calls.push("GetQueryResults");
      return {
        status: "Complete",
        rows: (o.insightsRows ?? []).map((i) => [
          { field: "@timestamp", value: "2023-11-14 22:13:20.000" },
          { field: "@message", value: emfLine(i) },
        ]),
      };
    },
    async filterLogEvents() {
      calls.push("FilterLogEvents");
      at.filter?.push(o.now?.() ?? 0);
      step(o.filter);
      return { messages: (o.filterRows ?? []).map((i) => emfLine(i)) };
    },
  };
  return { api, calls, at };
}

const request = (n: number, opts: { tail?: number[] } = {}) => ({
  deployed: DEPLOYED,
  runId: RUN,
  startMs: 1_700_000_000_000,
  endMs: 1_700_000_000_100,
  invocations: Array.from({ length: n }, (_, i) =>
    invocation(i, { tail: opts.tail?.includes(i) === true }),
  ),
});

const throttle = () =>
  new ThrottlingException({ message: "Rate exceeded", ...meta }) as unknown as Error;

t.test(
  "StartQuery throttled three times, then ok: retried with exponential backoff and jitter",
  async (t) => {
    const clock = fakeClock();
    const { api, calls } = scripted({
      startQuery: [throttle(), throttle(), throttle(), "ok"],
      insightsRows: [0, 1],
      now: clock.now,
    });
    const r = await new AwsHarvester(api, {
      ...clock,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(2));
    t.equal(r.found, 2, "every record found");
    t.equal(r.missing, 0, "none missing");
    t.equal(r.reason, undefined, "no reason when nothing is missing");
    t.equal(r.notes, undefined, "nothing to note: the retries covered it");
    t.same(
      calls,
      ["StartQuery", "StartQuery", "StartQuery", "StartQuery", "GetQueryResults"],
      "four StartQuery attempts, then the results",
    );
    t.same(clock.waits, [250, 500, 1000], "waits: half of 500, 1000, 2000 ms (jitter 0.5)");
  },
);

t.test("FilterLogEvents is paced to 5 calls per second, retries included", async (t) => {
  const clock = fakeClock();
  const { api, at } = scripted({
    filter: [throttle(), throttle(), "ok"],
    filterRows: [0, 1, 2],
    now: clock.now,
  });
  // Backoff draws 0: only the pacing makes the attempts wait.
  const r = await new AwsHarvester(api, {
    ...clock,
    random: () => 0,
    lagDeadlineMs: 0,
    limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
  }).harvest(request(3));
  t.equal(r.found, 3, "found by FilterLogEvents");
  t.same(r.counts, { insights: 0, "filter-log-events": 3 }, "by source");
  const times = at.filter ?? [];
  t.equal(times.length, 3, "three attempts");
  t.same(
    times.slice(1).map((x, i) => x - (times[i] ?? 0)),
    [200, 200],
    "each attempt 200 ms after the previous one",
  );
});

t.test(
  "AccessDenied on every source: the harvest returns, the runs' records are counted missing with the reason",
  async (t) => {
    const clock = fakeClock();
    const denied = (op: string) =>
      new AccessDeniedException({
        message: `User is not authorized to perform: logs:${op}`,
        ...meta,
      }) as unknown as Error;
    const { api, calls } = scripted({
      startQuery: [denied("StartQuery")],
      filter: [denied("FilterLogEvents")],
      now: clock.now,
    });
    const r = await new AwsHarvester(api, {
      ...clock,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(3, { tail: [1] }));
    t.same(calls, ["StartQuery", "FilterLogEvents"], "no retry of AccessDenied");
    t.same(clock.waits, [], "and no wait");
    t.equal(r.found, 1, "the tail's record is kept");
    t.equal(r.missing, 2, "the rest counted missing");
    t.same(
      r.reason,
      {
        code: "access-denied",
        message:
          "FilterLogEvents: AccessDeniedException: User is not authorized to perform: logs:FilterLogEvents",
      },
      "the reason is the last source's error",
    );
    t.same(
      r.notes,
      [
        "insights stopped: access-denied: StartQuery: AccessDeniedException: User is not authorized to perform: logs:StartQuery",
        "filter-log-events stopped: access-denied: FilterLogEvents: AccessDeniedException: User is not authorized to perform: logs:FilterLogEvents",
      ],
      "each source's end is noted",
    );
  },
);

t.test("ResourceNotFound (log group gone) is counted missing as not-found", async (t) => {
  const clock = fakeClock();
  const gone = () =>
    new ResourceNotFoundException({
      message: "The specified log group does not exist.",
      ...meta,
    }) as unknown as Error;
  const { api } = scripted({ startQuery: [gone()], filter: [gone()], now: clock.now });
  const r = await new AwsHarvester(api, {
    ...clock,
    limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
  }).harvest(request(2));
  t.equal(r.missing, 2, "both missing");
  t.equal(r.reason?.code, "not-found", "reason code");
});

t.test(
  "throttling past the harvest deadline: stops retrying, returns what it has, reason deadline",
  async (t) => {
    const clock = fakeClock();
    const forever = Array.from({ length: 100 }, throttle);
    const { api, calls } = scripted({
      startQuery: forever,
      filter: [...forever],
      now: clock.now,
    });
    const start = clock.now();
    const r = await new AwsHarvester(api, {
      ...clock,
      deadlineMs: 5000,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(2, { tail: [0] }));
    t.equal(r.found, 1, "the tail's record");
    t.equal(r.missing, 1, "one missing");
    t.equal(r.reason?.code, "deadline", "reason: the deadline");
    t.equal(
      r.reason?.message,
      "FilterLogEvents: ThrottlingException: Rate exceeded (after 3 attempts; the harvest deadline passed before the next)",
      "the reason names the call and the error that outlasted the deadline",
    );
    t.ok(clock.now() - start < 5000, "never waited past the deadline");
    t.same(
      calls,
      [
        ...Array.from({ length: 5 }, () => "StartQuery"),
        ...Array.from({ length: 3 }, () => "FilterLogEvents"),
      ],
      "each call retried until its next wait would pass the deadline",
    );
    t.same(
      clock.waits,
      [250, 500, 1000, 2000, 250, 500],
      "StartQuery waited 3,750 ms (the next 4,000 would pass 5,000); FilterLogEvents 750 ms more",
    );
  },
);

t.test(
  "LimitExceeded, ServiceUnavailable and network errors are retried; a defect is rethrown",
  async (t) => {
    const clock = fakeClock();
    const { api, calls } = scripted({
      startQuery: [
        new LimitExceededException({
          message: "Limit exceeded: 30 concurrent queries",
          ...meta,
        }) as unknown as Error,
        new ServiceUnavailableException({ message: "unavailable", ...meta }) as unknown as Error,
        Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
        "ok",
      ],
      insightsRows: [0],
      now: clock.now,
    });
    const r = await new AwsHarvester(api, {
      ...clock,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(1));
    t.equal(r.found, 1, "found after three retries");
    t.equal(calls.filter((c) => c === "StartQuery").length, 4, "four attempts");

    const bug = scripted({ startQuery: [new TypeError("x is not a function")] });
    await t.rejects(
      new AwsHarvester(bug.api, { ...fakeClock() }).harvest(request(1)),
      { name: "TypeError", message: "x is not a function" },
      "an unexpected error is not hidden as a harvest reason",
    );
  },
);

t.test("retries end after maxAttempts with the error's own reason code", async (t) => {
  const clock = fakeClock();
  const { api } = scripted({
    startQuery: Array.from({ length: 10 }, throttle),
    filterRows: [],
    now: clock.now,
  });
  const r = await new AwsHarvester(api, {
    ...clock,
    lagDeadlineMs: 0,
    retry: { maxAttempts: 3, baseMs: 10, capMs: 100 },
    limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
  }).harvest(request(1));
  t.same(
    r.notes,
    [
      "insights stopped: throttled: StartQuery: ThrottlingException: Rate exceeded (after 3 attempts)",
    ],
    "Insights given up after three attempts",
  );
  t.equal(r.reason?.code, "not-in-logs", "FilterLogEvents ran without error and found nothing");
});

t.test("classifyLogsError: the SDK's exception classes and network codes", async (t) => {
  t.same(classifyLogsError(throttle()), { retryable: true, code: "throttled" }, "throttling");
  t.same(
    classifyLogsError(Object.assign(new Error("x"), { $metadata: { httpStatusCode: 429 } })),
    { retryable: true, code: "throttled" },
    "HTTP 429",
  );
  t.same(
    classifyLogsError(
      new InvalidParameterException({ message: "bad", ...meta }) as unknown as Error,
    ),
    { retryable: false, code: "rejected" },
    "a rejected request is not retried",
  );
  t.same(
    classifyLogsError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
    { retryable: true, code: "network" },
    "ECONNRESET",
  );
  t.equal(classifyLogsError(new Error("plain")), undefined, "a plain error is not classified");
});

t.test("one limiter bounds concurrent Insights queries across parallel harvests", async (t) => {
  let running = 0;
  let peak = 0;
  let n = 0;
  const polls = new Map<string, number>();
  const api: LogsApi = {
    async startQuery() {
      running++;
      peak = Math.max(peak, running);
      const id = `q${n++}`;
      polls.set(id, 0);
      return id;
    },
    async getQueryResults(id) {
      const p = (polls.get(id) ?? 0) + 1;
      polls.set(id, p);
      if (p < 3) return { status: "Running", rows: [] };
      running--;
      return { status: "Complete", rows: [] };
    },
    async filterLogEvents() {
      return { messages: [] };
    },
  };
  const limiter = new LogsLimiter({ concurrentInsightsQueries: 3, filterLogEventsTps: 1000 });
  await Promise.all(
    Array.from({ length: 10 }, () =>
      new AwsHarvester(api, { ...fast, lagDeadlineMs: 0, limiter }).harvest(request(1)),
    ),
  );
  t.equal(n, 10, "every harvest ran its query");
  t.equal(peak, 3, "never more than three at once");
  t.equal(limiter.queriesRunning, 0, "every slot released");
});

t.test("one api object and one limiter per CloudWatch Logs client", async (t) => {
  const a = harvestLogsClient("us-east-1");
  const b = harvestLogsClient("us-east-1");
  t.teardown(() => {
    a.destroy();
    b.destroy();
  });
  t.equal(cloudWatchLogsApi(a), cloudWatchLogsApi(a), "same api for the same client");
  t.not(cloudWatchLogsApi(a), cloudWatchLogsApi(b), "another client, another api");
  t.equal(
    sharedLimiter(cloudWatchLogsApi(a)),
    sharedLimiter(cloudWatchLogsApi(a)),
    "harvesters built per cell share the client's limiter",
  );
  t.equal(await a.config.maxAttempts(), 1, "the SDK does not retry behind the pacer");
});

/**
 * A CloudWatch Logs whose Insights honours the time range (whole seconds, both ends inclusive),
 * sorts by @timestamp ascending and returns at most `cap` rows with statistics.recordsMatched,
 * as the service does; FilterLogEvents returns every event in one page.
 */
function windowedLogs(events: { ts: number; i: number }[], cap = 10_000) {
  const windows: [number, number][] = [];
  const results = new Map<
    string,
    { rows: { field: string; value: string }[][]; matched: number }
  >();
  let filterCalls = 0;
  const api: LogsApi = {
    async startQuery(input) {
      windows.push([input.startTimeS, input.endTimeS]);
      const matched = events
        .filter((e) => e.ts >= input.startTimeS * 1000 && e.ts < (input.endTimeS + 1) * 1000)
        .sort((a, b) => a.ts - b.ts);
      const rows = matched.slice(0, Math.min(cap, input.limit)).map((e) => [
        { field: "@timestamp", value: new Date(e.ts).toISOString().replace("T", " ").slice(0, -1) },
        { field: "@message", value: emfLine(e.i) },
      ]);
      const id = `q${windows.length}`;
      results.set(id, { rows, matched: matched.length });
      return id;
    },
    async getQueryResults(id) {
      const r = results.get(id);
      return { status: "Complete", rows: r?.rows ?? [], recordsMatched: r?.matched ?? 0 };
    },
    async filterLogEvents() {
      filterCalls++;
      return { messages: events.map((e) => emfLine(e.i)) };
    },
  };
  return { api, windows, filterCalls: () => filterCalls };
}

const BASE = 1_700_000_000_000;

function bigRun(n: number, spacingMs = 5) {
  return {
    deployed: DEPLOYED,
    runId: RUN,
    startMs: BASE,
    endMs: BASE + n * spacingMs + 100,
    invocations: Array.from({ length: n }, (_, i) => invocation(i)),
  };
}

t.test(
  "a run of 25,000 invocations: capped results are paged by time window, each window queried once",
  async (t) => {
    const n = 25_000;
    const logs = windowedLogs(Array.from({ length: n }, (_, i) => ({ ts: BASE + 5 * i, i })));
    const r = await new AwsHarvester(logs.api, { ...fast, lagDeadlineMs: 0 }).harvest(bigRun(n));
    t.equal(r.found, n, "every record found");
    t.equal(r.missing, 0, "none missing");
    t.same(r.counts, { insights: n }, "all by Insights");
    t.equal(logs.filterCalls(), 0, "no FilterLogEvents needed");
    const first = Math.floor((BASE - 60_000) / 1000);
    const last = Math.ceil((BASE + n * 5 + 100 + 60_000) / 1000);
    t.same(
      logs.windows,
      [
        [first, last],
        // 10,000 rows end at invocation 9,999 (BASE + 49,995 ms): the next window starts at
        // second 49, so its rows are invocations 9,800 to 19,799 (98,995 ms): then second 98.
        [Math.floor((BASE + 49_995) / 1000), last],
        [Math.floor((BASE + 98_995) / 1000), last],
      ],
      "three windows, each starting at the second of the previous one's last row",
    );
  },
);

t.test("fewer rows than recordsMatched is capped too, whatever the row count", async (t) => {
  const n = 2_500;
  const logs = windowedLogs(
    Array.from({ length: n }, (_, i) => ({ ts: BASE + 40 * i, i })),
    1_000,
  );
  const r = await new AwsHarvester(logs.api, { ...fast, lagDeadlineMs: 0 }).harvest(bigRun(n, 40));
  t.equal(r.found, n, "every record found");
  t.same(r.counts, { insights: n }, "by Insights alone");
  t.equal(logs.windows.length, 3, "three windows of at most 1,000 rows");
});

t.test(
  "more than 10,000 rows within one second: left to FilterLogEvents, not re-queried",
  async (t) => {
    const n = 12_000;
    const logs = windowedLogs(Array.from({ length: n }, (_, i) => ({ ts: BASE + 500, i })));
    const r = await new AwsHarvester(logs.api, { ...fast, lagDeadlineMs: 60_000 }).harvest({
      ...bigRun(n),
      endMs: BASE + 600,
    });
    t.equal(r.found, n, "all found");
    t.same(
      r.counts,
      { insights: 10_000, "filter-log-events": 2_000 },
      "the rest by FilterLogEvents",
    );
    t.same(
      logs.windows.map(([s]) => s - BASE / 1000),
      [-60, 0, 1],
      "the whole range, the capped second, the rest; then no re-query while time remains",
    );
    t.same(
      r.notes,
      [
        "more than 10000 rows within one second at 2023-11-14T22:13:20.000Z: Logs Insights cannot page them",
      ],
      "noted",
    );
  },
);

t.test("remainingWindows: paging after sorted rows, bisecting unsorted ones", async (t) => {
  const row = (ms: number) => [
    { field: "@timestamp", value: new Date(ms).toISOString().replace("T", " ").slice(0, -1) },
  ];
  t.same(
    remainingWindows({ startS: 100, endS: 200 }, [row(100_000), row(150_400)]),
    { windows: [{ startS: 150, endS: 200 }], stuck: false },
    "sorted: from the last row's second on",
  );
  t.same(
    remainingWindows({ startS: 100, endS: 200 }, [row(150_400), row(100_000)]),
    {
      windows: [
        { startS: 100, endS: 150 },
        { startS: 150, endS: 200 },
      ],
      stuck: false,
    },
    "unsorted: halves",
  );
  t.same(
    remainingWindows({ startS: 100, endS: 200 }, [row(100_100), row(100_900)]),
    { windows: [{ startS: 101, endS: 200 }], stuck: true },
    "one second over the cap: stuck, the rest still queried",
  );
  t.same(
    remainingWindows({ startS: 100, endS: 100 }, [row(100_900), row(100_100)]),
    { windows: [], stuck: true },
    "a single second cannot be split",
  );
  t.equal(rowTimestampMs(row(BASE)), BASE, "@timestamp parsed as UTC");
});

t.test("a query given up is stopped, so it frees its slot on the service", async (t) => {
  const clock = fakeClock();
  const stopped: string[] = [];
  const api: LogsApi = {
    async startQuery() {
      return "q-slow";
    },
    async getQueryResults() {
      return { status: "Running", rows: [] };
    },
    async stopQuery(id) {
      stopped.push(id);
    },
    async filterLogEvents() {
      return { messages: [emfLine(0)] };
    },
  };
  const r = await new AwsHarvester(api, {
    ...clock,
    pollMs: 1000,
    queryTimeoutMs: 3000,
    lagDeadlineMs: 0,
    limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
  }).harvest(request(1));
  t.same(stopped, ["q-slow"], "StopQuery sent once");
  t.same(r.notes, ["Logs Insights query q-slow still Running after 3000 ms"], "noted");
  t.equal(r.found, 1, "FilterLogEvents found the record");
});

/**
 * A CloudWatch Logs endpoint on loopback speaking the AWS JSON 1.1 protocol: each operation
 * answers its script's next step (an error type with HTTP 400, or the success body).
 */
async function jsonLogsServer(script: Record<string, (string | object)[]>) {
  const seen: string[] = [];
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      seen.push(op);
      bodies.push(JSON.parse(body || "{}") as Record<string, unknown>);
      const step = script[op]?.shift();
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (typeof step === "string") {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: step, message: `${step} from the test server` }));
      } else {
        res.end(JSON.stringify(step ?? {}));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

t.test(
  "the real SDK client: ThrottlingException over the wire is retried by the harvester alone; AccessDenied is a reason",
  async (t) => {
    const server = await jsonLogsServer({
      StartQuery: ["ThrottlingException", "ThrottlingException", { queryId: "q-1" }],
      GetQueryResults: [
        {
          status: "Complete",
          results: [
            [
              { field: "@timestamp", value: "2023-11-14 22:13:20.000" },
              { field: "@message", value: emfLine(0) },
            ],
          ],
          statistics: { recordsMatched: 1 },
        },
      ],
      FilterLogEvents: ["AccessDeniedException"],
    });
    t.teardown(server.close);
    const client = localLogsClient(server.endpoint, "us-east-1", {
      maxAttempts: LOGS_CLIENT_MAX_ATTEMPTS,
    });
    t.teardown(() => client.destroy());
    const clock = fakeClock();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...clock,
      lagDeadlineMs: 0,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(2));
    t.same(
      server.seen,
      ["StartQuery", "StartQuery", "StartQuery", "GetQueryResults", "FilterLogEvents"],
      "one request per attempt: the SDK does not retry on its own",
    );
    t.same(clock.waits, [250, 500], "the harvester's backoff");
    t.same(
      server.bodies[0],
      {
        logGroupName: DEPLOYED.logGroup,
        startTime: Math.floor((1_700_000_000_000 - 60_000) / 1000),
        endTime: Math.ceil((1_700_000_000_100 + 60_000) / 1000),
        queryString: rawRecordsQuery(RUN),
        limit: 10_000,
      },
      "StartQuery: the run's range in seconds with a minute of slack, the raw-records query",
    );
    t.equal(r.found, 1, "Insights' record");
    t.equal(r.missing, 1, "one missing");
    t.same(
      r.reason,
      {
        code: "access-denied",
        message:
          "FilterLogEvents: AccessDeniedException: AccessDeniedException from the test server",
      },
      "the SDK's AccessDeniedException classified",
    );
  },
);

t.test("the harvester's Logs clients time each request out after 30 s, as an error", async (t) => {
  t.same(
    LOGS_CLIENT_CONFIG,
    { maxAttempts: 1, requestHandler: { requestTimeout: 30_000, throwOnRequestTimeout: true } },
    "one config: one attempt per call, 30 s per request, a timeout is an error",
  );
  const aws = harvestLogsClient("us-east-1");
  const local = localLogsClient("http://127.0.0.1:1", "us-east-1", LOGS_CLIENT_CONFIG);
  t.teardown(() => {
    aws.destroy();
    local.destroy();
  });
  for (const [name, client] of [
    ["harvestLogsClient", aws],
    ["localLogsClient", local],
  ] as const) {
    // The handler's resolved options (the SDK builds a NodeHttpHandler from the plain object).
    const handler = client.config.requestHandler as unknown as {
      configProvider: Promise<{ requestTimeout?: number; throwOnRequestTimeout?: boolean }>;
    };
    const resolved = await handler.configProvider;
    t.same(
      [resolved.requestTimeout, resolved.throwOnRequestTimeout],
      [30_000, true],
      `${name}'s HTTP handler`,
    );
  }
});

t.test(
  "a CloudWatch Logs server that never answers: each request times out, is retried as a network error, and the harvest ends",
  async (t) => {
    const seen: string[] = [];
    const server = createServer((req) => {
      // Reads the request and never answers.
      seen.push(String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "");
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.teardown(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { port } = server.address() as AddressInfo;
    // The production config with a short timeout, so the test takes a second, not minutes.
    const client = localLogsClient(`http://127.0.0.1:${port}`, "us-east-1", {
      ...LOGS_CLIENT_CONFIG,
      requestHandler: { ...LOGS_CLIENT_CONFIG.requestHandler, requestTimeout: 150 },
    });
    t.teardown(() => client.destroy());
    const clock = fakeClock();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...clock,
      lagDeadlineMs: 0,
      retry: { maxAttempts: 2, baseMs: 500, capMs: 20_000 },
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(2));
    t.same(
      seen,
      ["StartQuery", "StartQuery", "FilterLogEvents", "FilterLogEvents"],
      "each stalled request timed out and was retried once (the policy's 2 attempts)",
    );
    t.same(clock.waits, [250, 250], "the harvester's backoff between attempts");
    t.equal(r.missing, 2, "the records are counted missing");
    t.equal(r.reason?.code, "network", "a timeout is a network error");
    t.match(
      r.reason?.message,
      /^FilterLogEvents: TimeoutError: @smithy\/node-http-handler - \[ERROR\] a request has exceeded the configured 150 ms requestTimeout\. \(after 2 attempts\)$/,
      "with the SDK's timeout message",
    );
  },
);

t.test(
  "no credentials through the real SDK client: access-denied, the records counted missing, the harvest ends normally",
  async (t) => {
    const server = await jsonLogsServer({});
    t.teardown(server.close);
    // What the SDK's credential chain throws when it finds none: no request is sent.
    const client = new CloudWatchLogsClient({
      ...LOGS_CLIENT_CONFIG,
      region: "us-east-1",
      endpoint: server.endpoint,
      credentials: async () => {
        throw new CredentialsProviderError("Could not load credentials from any providers", {
          tryNextLink: false,
        });
      },
    });
    t.teardown(() => client.destroy());
    const clock = fakeClock();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...clock,
      lagDeadlineMs: 0,
      limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
    }).harvest(request(3, { tail: [1] }));
    t.same(server.seen, [], "nothing reached the server");
    t.same(clock.waits, [], "not retried: retrying cannot find credentials");
    t.same([r.expected, r.found, r.missing], [3, 1, 2], "the tail's record; two missing");
    t.same(
      r.reason,
      {
        code: "access-denied",
        message:
          "FilterLogEvents: CredentialsProviderError: Could not load credentials from any providers",
      },
      "the reason says why",
    );
  },
);

t.test(
  "an error nobody classified ends the source as rejected, not the cell; a defect or an abort still ends the harvest",
  async (t) => {
    // StartQuery answered without a queryId; FilterLogEvents failed with a plain Error.
    const server = await jsonLogsServer({ StartQuery: [{}] });
    t.teardown(server.close);
    const client = localLogsClient(server.endpoint, "us-east-1", LOGS_CLIENT_CONFIG);
    t.teardown(() => client.destroy());
    const clock = fakeClock();
    const api = cloudWatchLogsApi(client);
    const r = await new AwsHarvester(
      {
        ...api,
        filterLogEvents: async () => {
          throw new Error("socket hang up, somehow unnamed");
        },
      },
      {
        ...clock,
        lagDeadlineMs: 0,
        limiter: new LogsLimiter({ now: clock.now, sleep: clock.sleep }),
      },
    ).harvest(request(2));
    t.same([r.found, r.missing], [0, 2], "both counted missing");
    t.same(
      r.notes,
      [
        "insights stopped: rejected: insights: Error: StartQuery returned no queryId",
        "filter-log-events stopped: rejected: filter-log-events: Error: socket hang up, somehow unnamed",
      ],
      "each source's end is noted",
    );
    t.equal(r.reason?.code, "rejected", "the last one is the reason");

    for (const defect of [new TypeError("x is not a function"), new RangeError("bad length")]) {
      const bug = scripted({ startQuery: [defect] });
      await t.rejects(
        new AwsHarvester(bug.api, { ...fakeClock() }).harvest(request(1)),
        defect,
        `${defect.name} is rethrown`,
      );
    }
    const controller = new AbortController();
    const aborting = scripted({ startQuery: [new Error("request aborted")] });
    const startQuery = aborting.api.startQuery;
    aborting.api.startQuery = async (...args) => {
      controller.abort(new Error("interrupted by SIGINT"));
      return startQuery(...args);
    };
    await t.rejects(
      new AwsHarvester(aborting.api, { ...fakeClock() }).harvest(request(1), controller.signal),
      { message: "request aborted" },
      "an abort is rethrown",
    );
  },
);
