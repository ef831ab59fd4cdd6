import t from "tap";
import {
  AwsHarvester,
  type LogsApi,
  type QueryStatus,
  runInsightsQuery,
} from "../../automation/harvest-aws";
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
  t.equal(rows.length, 2, "two rows once Complete");
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
