/**
 * The AWS harvester (automation/harvest-aws.ts) end to end against the local CloudWatch Logs
 * server: completeness through Insights, the fallbacks, and the faults it must survive.
 */
import t from "tap";
import { type HarvestRequest, sleep } from "../../../automation/harvest";
import { AwsHarvester, cloudWatchLogsApi } from "../../../automation/harvest-aws";
import { LOGS_CLIENT_CONFIG } from "../../../automation/logs-retry";
import { type LogsFaults, localLogsClient } from "../../../local/logs";
import { DEPLOYED, emfLine, invocation, RUN } from "../../automation/fixtures";
import { GROUP, logsFixture, STREAM_A, STREAM_B } from "../../helpers/logs-server";

const N = 6;
const timings = { pollMs: 10, retryMs: 50, queryTimeoutMs: 5_000, slackMs: 5_000 };

function request(tails = false): HarvestRequest {
  const invocations = Array.from({ length: N }, (_, i) => invocation(i, { tail: tails }));
  return {
    deployed: DEPLOYED,
    runId: RUN,
    startMs: 1_700_000_000_000,
    endMs: 1_700_000_000_100,
    invocations,
  };
}

/** The server with the EMF lines of invocations `written` (of RUN) and noise, split over two streams. */
async function setUp(
  t: tap.Test,
  faults?: LogsFaults,
  written: readonly number[] = [0, 1, 2, 3, 4, 5],
) {
  const fixture = await logsFixture(t, faults);
  for (const i of written) {
    fixture.store.append(GROUP, i % 2 === 0 ? STREAM_A : STREAM_B, [
      { timestamp: 1_700_000_000_000 + i, message: emfLine(i) },
    ]);
  }
  fixture.store.append(GROUP, STREAM_A, [
    { timestamp: 1_700_000_000_050, message: emfLine(9, "run_1700000000000_zzz999") },
  ]);
  return fixture;
}

t.test("a complete run is harvested through Insights alone", async (t) => {
  const { client } = await setUp(t);
  const r = await new AwsHarvester(cloudWatchLogsApi(client), {
    ...timings,
    lagDeadlineMs: 2_000,
  }).harvest(request());
  t.match(
    r,
    { expected: N, found: N, missing: 0, source: "insights", counts: { insights: N } },
    "complete",
  );
  t.same(
    r.records.map((x) => x.request_id),
    ["req-0", "req-1", "req-2", "req-3", "req-4", "req-5"],
    "the run's records only, oldest first",
  );
});

t.test(
  "ingestion lag is waited out: Insights is re-queried until the records are visible",
  async (t) => {
    const { client } = await setUp(t, { ingestionLagMs: 400 });
    const began = Date.now();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...timings,
      lagDeadlineMs: 5_000,
    }).harvest(request());
    t.match(r, { found: N, missing: 0, source: "insights" }, "complete through Insights");
    t.ok(Date.now() - began >= 400, "after the lag");
  },
);

t.test("a partial Insights answer falls back to FilterLogEvents", async (t) => {
  const { client } = await setUp(t, { insightsPartial: { maxRecords: 2 } });
  const r = await new AwsHarvester(cloudWatchLogsApi(client), {
    ...timings,
    lagDeadlineMs: 300,
  }).harvest(request());
  t.match(
    r,
    {
      found: N,
      missing: 0,
      source: "insights+filter-log-events",
      counts: { insights: 2, "filter-log-events": N - 2 },
    },
    "the rest from FilterLogEvents",
  );
});

t.test(
  "records missing from the logs come from the invoke tails, the rest is counted",
  async (t) => {
    const { client } = await setUp(t, undefined, [0, 1, 2]);
    const api = cloudWatchLogsApi(client);
    const r = await new AwsHarvester(api, { ...timings, lagDeadlineMs: 200 }).harvest(
      request(true),
    );
    t.match(
      r,
      {
        found: N,
        missing: 0,
        source: "insights+tail",
        counts: { insights: 3, "filter-log-events": 0, tail: 3 },
      },
      "tails fill in",
    );
    const none = await new AwsHarvester(api, { ...timings, lagDeadlineMs: 200 }).harvest(
      request(false),
    );
    t.match(
      none,
      { expected: N, found: 3, missing: 3, source: "insights" },
      "without tails: 3 missing, counted",
    );
  },
);

/**
 * Harvester options that record the harvester's waits: its retry backoff is exactly
 * `retryWaitMs` (full jitter at 0.5 of a 14 ms bound), apart from the query polls
 * (`timings.pollMs`) and the lag re-queries (`timings.retryMs`).
 */
function recordingWaits() {
  const waits: number[] = [];
  return {
    waits,
    retryWaitMs: 7,
    /** The backoffs among the waits. */
    backoffs: () => waits.filter((ms) => ms !== timings.pollMs && ms !== timings.retryMs),
    options: {
      retry: { maxAttempts: 8, baseMs: 14, capMs: 100 },
      random: () => 0.5,
      sleep: (ms: number, signal?: AbortSignal) => {
        waits.push(ms);
        return sleep(ms, signal);
      },
    },
  };
}

t.test(
  "a throttled StartQuery is retried by the harvester (the client makes one attempt, as in production)",
  async (t) => {
    const { server } = await setUp(t, { throttle: [{ operation: "StartQuery", nth: 1 }] });
    const client = localLogsClient(server.endpoint, server.region, LOGS_CLIENT_CONFIG);
    t.teardown(() => client.destroy());
    const w = recordingWaits();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...timings,
      ...w.options,
      lagDeadlineMs: 2_000,
    }).harvest(request());
    t.match(r, { found: N, source: "insights" }, "complete after the retry");
    t.same(w.backoffs(), [w.retryWaitMs], "one backoff of the harvester's own, then success");
  },
);

t.test(
  "a throttled FilterLogEvents page is retried by the harvester in the fallback",
  async (t) => {
    const { server } = await setUp(t, {
      insightsPartial: { maxRecords: 1 },
      throttle: [{ operation: "FilterLogEvents", nth: 1 }],
    });
    const client = localLogsClient(server.endpoint, server.region, LOGS_CLIENT_CONFIG);
    t.teardown(() => client.destroy());
    const w = recordingWaits();
    const r = await new AwsHarvester(cloudWatchLogsApi(client), {
      ...timings,
      ...w.options,
      lagDeadlineMs: 200,
    }).harvest(request());
    t.match(
      r,
      { found: N, missing: 0, counts: { insights: 1, "filter-log-events": N - 1 } },
      "complete after the retry",
    );
    t.same(w.backoffs(), [w.retryWaitMs], "one backoff of the harvester's own");
  },
);
