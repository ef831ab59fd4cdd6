import {
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import t from "tap";
import { rawRecordsQuery } from "../../../automation/queries";
import { startLogsServer } from "../../../local/logs";
import { emfLine, RUN } from "../../automation/fixtures";
import { GROUP, logsFixture, rowObjects, runQuery, STREAM_A } from "../../helpers/logs-server";

const five = Array.from({ length: 5 }, (_, i) => ({
  timestamp: 1_700_000_000_000 + i,
  message: emfLine(i),
}));

t.test(
  "ingestion lag: an event is invisible to every operation until N ms after its write",
  async (t) => {
    const { store, client } = await logsFixture(t, { ingestionLagMs: 1_500 });
    const written = Date.now();
    store.append(GROUP, STREAM_A, five);
    const filter = () => client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
    t.same((await filter()).events, [], "FilterLogEvents sees nothing yet");
    t.same(
      rowObjects(await runQuery(client, { queryString: rawRecordsQuery(RUN) })),
      [],
      "Insights neither",
    );
    const streams = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    t.equal(streams.logStreams?.[0]?.lastEventTimestamp, undefined, "no last event yet");
    await new Promise((r) => setTimeout(r, 1_600));
    const events = (await filter()).events ?? [];
    t.equal(events.length, 5, "all five once the lag has passed");
    t.ok((events[0]?.ingestionTime ?? 0) >= written + 1_500, "ingestionTime includes the lag");
    t.equal(
      (await runQuery(client, { queryString: rawRecordsQuery(RUN) })).results?.length,
      5,
      "Insights too",
    );
  },
);

t.test(
  "a partial Insights answer: the first K records, or a fraction, for the first N queries",
  async (t) => {
    const { store, client } = await logsFixture(t, {
      insightsPartial: { maxRecords: 2, queries: 1 },
    });
    store.append(GROUP, STREAM_A, five);
    const first = await runQuery(client, { queryString: rawRecordsQuery(RUN) });
    t.equal(first.status, "Complete", "Complete, as on AWS under load");
    t.same(
      rowObjects(first).map((r) => r["@message"]),
      [five[0]?.message, five[1]?.message],
      "only the oldest two records",
    );
    t.equal(first.statistics?.recordsMatched, 2, "recordsMatched counts what it saw");
    t.equal(
      (await runQuery(client, { queryString: rawRecordsQuery(RUN) })).results?.length,
      5,
      "the second query is whole",
    );

    const half = await logsFixture(t, { insightsPartial: { fraction: 0.5 } });
    half.store.append(GROUP, STREAM_A, five);
    for (const n of [1, 2]) {
      const out = await runQuery(half.client, { queryString: rawRecordsQuery(RUN) });
      t.equal(out.results?.length, 2, `query ${n}: half of 5, rounded down`);
    }
  },
);

t.test("ThrottlingException on the nth call of an operation, or on every nth call", async (t) => {
  const { store, client } = await logsFixture(t, {
    throttle: [
      { operation: "FilterLogEvents", nth: 2 },
      { operation: "DescribeLogGroups", every: 2 },
    ],
  });
  store.append(GROUP, STREAM_A, five);
  const filter = () => client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
  const groups = () => client.send(new DescribeLogGroupsCommand({}));
  t.equal((await filter()).events?.length, 5, "first call answers");
  await t.rejects(filter(), {
    name: "ThrottlingException",
    message: "Rate exceeded",
    $metadata: { httpStatusCode: 400 },
  });
  t.equal((await filter()).events?.length, 5, "third call answers");
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    outcomes.push(
      await groups().then(
        () => "ok",
        (e: { name: string }) => e.name,
      ),
    );
  }
  t.same(outcomes, ["ok", "ThrottlingException", "ok", "ThrottlingException"], "every 2nd");
});

t.test("bad fault options are refused, naming the option", async (t) => {
  await t.rejects(startLogsServer({ logDir: "/tmp/unused-logs", faults: { ingestionLagMs: -1 } }), {
    name: "RangeError",
    message: "faults.ingestionLagMs=-1 is invalid: allowed an integer >= 0",
  });
  await t.rejects(
    startLogsServer({ logDir: "/tmp/unused-logs", faults: { insightsPartial: { fraction: 2 } } }),
    { message: "faults.insightsPartial.fraction=2 is invalid: allowed 0 to 1" },
  );
});
