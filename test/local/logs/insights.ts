import {
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import t from "tap";
import {
  INSIGHTS_MAX_ROWS,
  rawRecordsQuery,
  runSummaryQuery,
  seedP95ThroughputQuery,
} from "../../../automation/queries";
import { buildEmfLine } from "../../../core/emf";
import { emf, emfLine, RUN } from "../../automation/fixtures";
import {
  GROUP,
  logsFixture,
  rowObjects,
  runQuery,
  STREAM_A,
  STREAM_B,
} from "../../helpers/logs-server";

const OTHER = "run_1700000000000_zzz999";

/** Five EMF lines of RUN with latencies 10…50, one of another run, and non-EMF lines. */
function seed(store: import("../../../local/lambda/log-store").LogStore): string[] {
  const lines = [0, 1, 2, 3, 4].map((i) =>
    JSON.stringify(buildEmfLine({ ...emf(i), latency_ms: 10 * (i + 1) })),
  );
  store.append(GROUP, STREAM_A, [
    { timestamp: 1_700_000_000_000, message: "START RequestId: req-0 Version: $LATEST" },
    { timestamp: 1_700_000_000_010, message: lines[0] ?? "" },
    { timestamp: 1_700_000_000_030, message: lines[2] ?? "" },
    { timestamp: 1_700_000_000_040, message: lines[3] ?? "" },
  ]);
  store.append(GROUP, STREAM_B, [
    { timestamp: 1_700_000_000_020, message: lines[1] ?? "" },
    { timestamp: 1_700_000_000_025, message: emfLine(9, OTHER) },
    { timestamp: 1_700_000_000_050, message: lines[4] ?? "" },
    {
      timestamp: 1_700_000_000_060,
      message: JSON.stringify({
        time: "2023-11-14T22:13:20.060Z",
        type: "platform.report",
        record: {
          requestId: "req-4",
          metrics: { durationMs: 12.5, billedDurationMs: 13 },
          status: "success",
        },
      }),
    },
  ]);
  return lines;
}

t.test("rawRecordsQuery returns the run's EMF lines whole, oldest first, with @ptr", async (t) => {
  const { store, client } = await logsFixture(t);
  const lines = seed(store);
  const out = await runQuery(client, { queryString: rawRecordsQuery(RUN) });
  t.equal(out.status, "Complete", "complete");
  t.same(
    rowObjects(out),
    lines.map((message, i) => ({
      "@timestamp": `2023-11-14 22:13:20.0${[1, 2, 3, 4, 5][i]}0`,
      "@message": message,
    })),
    "exact rows",
  );
  t.ok(
    out.results?.every((row) => row.some((f) => f.field === "@ptr" && (f.value ?? "") !== "")),
    "every row has a @ptr",
  );
  t.same(
    out.statistics,
    { recordsMatched: 5, recordsScanned: 8, bytesScanned: out.statistics?.bytesScanned },
    "statistics",
  );
  t.ok((out.statistics?.bytesScanned ?? 0) > 5 * 500, "bytes scanned counted");
});

t.test("runSummaryQuery gives count, p95, throughput over record times and bytes", async (t) => {
  const { store, client } = await logsFixture(t);
  seed(store);
  const out = await runQuery(client, { queryString: runSummaryQuery(RUN) });
  t.same(
    rowObjects(out),
    [{ records: "5", p95_ms: "48", throughput_obj_per_s: "92.5925925925926", bytes_sum: "5120" }],
    "one row; p95 by linear interpolation; 5 records over 54 ms",
  );
  t.same(
    out.results?.[0]?.map((f) => f.field),
    ["records", "p95_ms", "throughput_obj_per_s", "bytes_sum"],
    "no @ptr on stats rows",
  );
});

t.test(
  "the seed query's parse is refused with MalformedQueryException, not answered",
  async (t) => {
    const { store, client } = await logsFixture(t);
    seed(store);
    await t.rejects(runQuery(client, { queryString: seedP95ThroughputQuery(RUN) }), {
      name: "MalformedQueryException",
      message:
        "unexpected symbol found parse at line 3 and position 3: the local Logs Insights supports fields, filter, sort, limit and stats",
      queryCompileError: { location: { startCharOffset: 123, endCharOffset: 128 } },
    });
  },
);

t.test(
  "nested JSON fields are discovered with dots; stats by, count(f), sum, min, max, avg",
  async (t) => {
    const { store, client } = await logsFixture(t);
    seed(store);
    const report = await runQuery(client, {
      queryString:
        "filter type = 'platform.report' | fields record.requestId, record.metrics.durationMs as d, record.metrics.billedDurationMs * 2 as twice, @logStream, @log",
    });
    t.same(
      rowObjects(report),
      [
        {
          "record.requestId": "req-4",
          d: "12.5",
          twice: "26",
          "@logStream": STREAM_B,
          "@log": `000000000000:${GROUP}`,
        },
      ],
      "platform.report fields",
    );
    const byRun = await runQuery(client, {
      queryString:
        "filter ispresent(latency_ms) | stats count(*) as n, count(request_id) as ids, sum(latency_ms) as s, min(latency_ms), max(latency_ms) as hi, avg(latency_ms) as mean by run_id | sort n desc",
    });
    t.same(
      rowObjects(byRun),
      [
        { run_id: RUN, n: "5", ids: "5", s: "150", "min(latency_ms)": "10", hi: "50", mean: "30" },
        { run_id: OTHER, n: "1", ids: "1", s: "50", "min(latency_ms)": "50", hi: "50", mean: "50" },
      ],
      "grouped by run, sorted by count",
    );
    const filtered = await runQuery(client, {
      queryString:
        "fields latency_ms | filter (latency_ms > 10 and latency_ms <= 40 or latency_ms = 50) and run_id != 'run_1700000000000_zzz999' and not cold_start = 1 | sort latency_ms desc | limit 3",
    });
    t.same(
      rowObjects(filtered),
      [{ latency_ms: "50" }, { latency_ms: "40" }, { latency_ms: "30" }],
      "and, or, not, comparisons, sort desc, limit",
    );
    const empty = await runQuery(client, {
      queryString: "filter run_id = 'nope' | stats count(*)",
    });
    t.same(rowObjects(empty), [], "stats over no records has no rows");
  },
);

t.test("the time range is in seconds, both ends inclusive", async (t) => {
  const { store, client } = await logsFixture(t);
  store.append(GROUP, STREAM_A, [
    { timestamp: 9_999, message: "a" },
    { timestamp: 10_000, message: "b" },
    { timestamp: 20_999, message: "c" },
    { timestamp: 21_000, message: "d" },
  ]);
  const out = await runQuery(client, {
    queryString: "fields @message | sort @timestamp asc",
    startTime: 10,
    endTime: 20,
  });
  t.same(rowObjects(out), [{ "@message": "b" }, { "@message": "c" }], "seconds 10 to 20");
});

t.test(
  "at most 10,000 rows: the cap shows as recordsMatched above the rows returned",
  async (t) => {
    const { store, client } = await logsFixture(t);
    const n = 12_000;
    store.append(
      GROUP,
      STREAM_A,
      Array.from({ length: n }, (_, i) => ({
        timestamp: 1_700_000_000_000 + i,
        message: emfLine(i),
      })),
    );
    const out = await runQuery(client, { queryString: rawRecordsQuery(RUN) });
    t.equal(out.results?.length, INSIGHTS_MAX_ROWS, "10,000 rows");
    t.equal(out.statistics?.recordsMatched, n, "12,000 matched");
    const limited = await runQuery(client, { queryString: "fields @message", limit: 20 });
    t.equal(limited.results?.length, 20, "StartQuery's limit caps too");
    await t.rejects(
      client.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: 0,
          endTime: 1,
          queryString: "fields @message",
          limit: 10_001,
        }),
      ),
      { name: "InvalidParameterException" },
    );
  },
);

t.test(
  "queries go Scheduled → Running → Complete; StopQuery cancels; 30 run at once",
  async (t) => {
    const { store, client } = await logsFixture(t, { insightsRunMs: 2_000 });
    seed(store);
    const start = () =>
      client.send(
        new StartQueryCommand({
          logGroupName: GROUP,
          startTime: 0,
          endTime: 4e9,
          queryString: "fields @message",
        }),
      );
    const first = await start();
    const status = async (queryId?: string) =>
      (await client.send(new GetQueryResultsCommand({ queryId }))).status;
    t.match(await status(first.queryId), /^(Scheduled|Running)$/, "scheduled or running at first");
    await new Promise((r) => setTimeout(r, 50));
    t.equal(await status(first.queryId), "Running", "then running");
    const stopped = await client.send(new StopQueryCommand({ queryId: first.queryId }));
    t.equal(stopped.success, true, "stopped");
    t.equal(await status(first.queryId), "Cancelled", "cancelled");
    t.equal(
      (await client.send(new StopQueryCommand({ queryId: first.queryId }))).success,
      false,
      "stopping again fails",
    );
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push((await start()).queryId);
    await t.rejects(start(), {
      name: "LimitExceededException",
      message: "Account maximum query concurrency limit of [30] reached.",
    });
    await new Promise((r) => setTimeout(r, 2_100));
    t.equal(await status(ids[0]), "Complete", "complete after the run time");
    t.type((await start()).queryId, "string", "a slot is free again");
    await t.rejects(client.send(new GetQueryResultsCommand({ queryId: "nope" })), {
      name: "ResourceNotFoundException",
    });
  },
);

t.test("unsupported syntax is a MalformedQueryException with Insights' wording", async (t) => {
  const { store, client } = await logsFixture(t);
  seed(store);
  const cases: [string, string][] = [
    [
      "fields @message | filter @message like /x/",
      "unexpected symbol found like at line 1 and position 35",
    ],
    [
      "fields @message | sort @timestamp",
      "unexpected symbol found end of query at line 1 and position 34: sort needs asc or desc",
    ],
    [
      "stats count(*) by bin(5m)",
      "unexpected symbol found bin at line 1 and position 19: the local Logs Insights supports ispresent() and count, sum, min, max, avg, pct",
    ],
    [
      "fields strlen(@message)",
      "unexpected symbol found strlen at line 1 and position 8: the local Logs Insights supports ispresent() and count, sum, min, max, avg, pct",
    ],
    [
      "filter count(*) > 1",
      "unexpected symbol found count at line 1 and position 8: aggregate functions are allowed only in stats, not nested",
    ],
    [
      "fields a\n| limit 0",
      "unexpected symbol found 0 at line 2 and position 9: limit takes an integer from 1 to 10000",
    ],
    [
      "stats latency_ms",
      "unexpected symbol found stats at line 1 and position 1: latency_ms is not an aggregate",
    ],
    [
      "dedup @logStream",
      "unexpected symbol found dedup at line 1 and position 1: the local Logs Insights supports fields, filter, sort, limit and stats",
    ],
  ];
  for (const [queryString, message] of cases) {
    await t.rejects(
      client.send(
        new StartQueryCommand({ logGroupName: GROUP, startTime: 0, endTime: 1, queryString }),
      ),
      { name: "MalformedQueryException", message },
      queryString,
    );
  }
});
