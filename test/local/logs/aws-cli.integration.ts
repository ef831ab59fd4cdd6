import t from "tap";
import { rawRecordsQuery, runFilterPattern } from "../../../automation/queries";
import { emfLine, RUN } from "../../automation/fixtures";
import { GROUP, logsFixture, STREAM_A, STREAM_B } from "../../helpers/logs-server";
import { AWS_CLI, realClients, runClient } from "../../helpers/real-clients";

/** The server with 2,500 events of RUN in two streams, and Debian's aws-cli pointed at it. */
async function setUp(t: tap.Test) {
  const fixture = await logsFixture(t);
  const lines = Array.from({ length: 2_500 }, (_, i) => ({
    timestamp: 1_700_000_000_000 + i,
    message: emfLine(i),
  }));
  fixture.store.append(GROUP, STREAM_A, lines.slice(0, 1_250));
  fixture.store.append(GROUP, STREAM_B, lines.slice(1_250));
  fixture.store.append(GROUP, STREAM_B, [{ timestamp: 1_700_000_009_999, message: "noise" }]);
  const clients = realClients({
    endpoint: fixture.server.endpoint,
    region: fixture.server.region,
    credentials: { accessKeyId: "AKIDLOGSCLI", secretAccessKey: "logs-cli-secret" },
  });
  t.teardown(() => clients.cleanup());
  const aws = (...args: string[]) =>
    runClient(AWS_CLI, [...clients.aws.args, "--output", "json", "logs", ...args], clients.aws.env);
  return { ...fixture, lines, aws };
}

t.test("aws logs filter-log-events pages through every matching event", async (t) => {
  const { aws, lines } = await setUp(t);
  // --page-size 1000 makes the CLI follow nextToken across three pages.
  const run = await aws(
    "filter-log-events",
    "--log-group-name",
    GROUP,
    "--filter-pattern",
    runFilterPattern(RUN),
    "--page-size",
    "1000",
  );
  t.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { events: { message: string; logStreamName: string }[] };
  t.equal(out.events.length, 2_500, "all 2,500 events, the noise line filtered out");
  t.same(
    out.events.map((e) => e.message),
    lines.map((l) => l.message),
    "in timestamp order",
  );
  const first = await aws("filter-log-events", "--log-group-name", GROUP, "--max-items", "1000");
  const page = JSON.parse(first.stdout) as { events: unknown[]; NextToken?: string };
  t.equal(page.events.length, 1_000, "--max-items stops after 1,000");
  t.type(page.NextToken, "string", "and gives a token to resume from");
  const next = await aws(
    "filter-log-events",
    "--log-group-name",
    GROUP,
    "--starting-token",
    page.NextToken ?? "",
  );
  t.equal(
    (JSON.parse(next.stdout) as { events: unknown[] }).events.length,
    1_501,
    "the rest, noise line included",
  );
});

t.test("aws logs start-query and get-query-results run rawRecordsQuery", async (t) => {
  const { aws } = await setUp(t);
  const started = await aws(
    "start-query",
    "--log-group-name",
    GROUP,
    "--start-time",
    "1700000000",
    "--end-time",
    "1700000010",
    "--query-string",
    rawRecordsQuery(RUN),
  );
  t.equal(started.code, 0, started.stderr);
  const { queryId } = JSON.parse(started.stdout) as { queryId: string };
  let result: {
    status: string;
    results: { field: string; value: string }[][];
    statistics: { recordsMatched: number };
  };
  do {
    const got = await aws("get-query-results", "--query-id", queryId);
    t.equal(got.code, 0, got.stderr);
    result = JSON.parse(got.stdout);
  } while (result.status === "Scheduled" || result.status === "Running");
  t.equal(result.status, "Complete", "complete");
  t.equal(result.results.length, 2_500, "every record");
  t.same(
    result.results[0]?.filter((f) => f.field !== "@ptr"),
    [
      { field: "@timestamp", value: "2023-11-14 22:13:20.000" },
      { field: "@message", value: emfLine(0) },
    ],
    "first row",
  );
  t.equal(result.statistics.recordsMatched, 2_500, "statistics");
});

t.test("aws logs describe-log-groups lists the group; errors are named", async (t) => {
  const { aws } = await setUp(t);
  const groups = await aws("describe-log-groups", "--log-group-name-prefix", "/aws/lambda/");
  t.equal(groups.code, 0, groups.stderr);
  t.same(
    (JSON.parse(groups.stdout) as { logGroups: { logGroupName: string }[] }).logGroups.map(
      (g) => g.logGroupName,
    ),
    [GROUP],
    "the group",
  );
  const missing = await aws("filter-log-events", "--log-group-name", "/aws/lambda/none");
  t.not(missing.code, 0, "fails");
  t.match(
    missing.stderr,
    "An error occurred (ResourceNotFoundException) when calling the FilterLogEvents operation: The specified log group does not exist.",
    "the CLI names the error",
  );
  const malformed = await aws(
    "start-query",
    "--log-group-name",
    GROUP,
    "--start-time",
    "0",
    "--end-time",
    "1",
    "--query-string",
    "fields @message | parse @message 'a*' as b",
  );
  t.match(malformed.stderr, "(MalformedQueryException)", "Insights' error for unsupported syntax");
});
