import {
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  type FilterLogEventsCommandOutput,
  paginateDescribeLogGroups,
} from "@aws-sdk/client-cloudwatch-logs";
import t from "tap";
import { GROUP, logsFixture, STREAM_A, STREAM_B } from "../../helpers/logs-server";

t.test(
  "FilterLogEvents pages 25,000 events by 10,000 with nextToken, each event once",
  async (t) => {
    const { store, client } = await logsFixture(t);
    const events = Array.from({ length: 25_000 }, (_, i) => ({
      timestamp: 1000 + i,
      message: `line ${i}`,
    }));
    store.append(
      GROUP,
      STREAM_A,
      events.filter((_, i) => i % 2 === 0),
    );
    store.append(
      GROUP,
      STREAM_B,
      events.filter((_, i) => i % 2 === 1),
    );
    const pages: FilterLogEventsCommandOutput[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new FilterLogEventsCommand({ logGroupName: GROUP, ...(nextToken ? { nextToken } : {}) }),
      );
      pages.push(page);
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    t.same(
      pages.map((p) => p.events?.length),
      [10_000, 10_000, 5_000],
      "10,000 events a page",
    );
    const all = pages.flatMap((p) => p.events ?? []);
    t.same(
      all.map((e) => e.message),
      events.map((e) => e.message),
      "every event once, oldest first across streams",
    );
    t.equal(new Set(all.map((e) => e.eventId)).size, 25_000, "eventIds are unique");
    t.match(all[0], { logStreamName: STREAM_A, timestamp: 1000, eventId: /^\d+$/ }, "event fields");
    t.ok((all[0]?.ingestionTime ?? 0) > 1_700_000_000_000, "ingestionTime is the write time");
    t.same(
      pages[2]?.searchedLogStreams,
      [
        { logStreamName: STREAM_A, searchedCompletely: true },
        { logStreamName: STREAM_B, searchedCompletely: true },
      ],
      "searchedLogStreams on the last page",
    );
  },
);

t.test("a page holds at most 1 MB of events, and limit bounds it further", async (t) => {
  const { store, client } = await logsFixture(t);
  const big = "x".repeat(10_000);
  store.append(
    GROUP,
    STREAM_A,
    Array.from({ length: 120 }, (_, i) => ({ timestamp: i, message: big })),
  );
  const first = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
  // 1,048,576 / (10,000 + 26) = 104.6 events.
  t.equal(first.events?.length, 104, "104 events of 10 kB fill 1 MB");
  t.type(first.nextToken, "string", "more to come");
  const rest = await client.send(
    new FilterLogEventsCommand({ logGroupName: GROUP, nextToken: first.nextToken }),
  );
  t.equal(rest.events?.length, 16, "the rest");
  t.equal(rest.nextToken, undefined, "no token on the last page");
  const limited = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 7 }));
  t.equal(limited.events?.length, 7, "limit");
});

t.test("startTime and endTime are both inclusive; streams and patterns narrow", async (t) => {
  const { store, client } = await logsFixture(t);
  store.append(GROUP, STREAM_A, [
    { timestamp: 100, message: "a run_1" },
    { timestamp: 200, message: "b run_2" },
  ]);
  store.append(GROUP, STREAM_B, [
    { timestamp: 200, message: "c run_1" },
    { timestamp: 300, message: "d run_1" },
  ]);
  const messages = async (input: Record<string, unknown>) =>
    (
      (await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, ...input }))).events ??
      []
    ).map((e) => e.message);
  t.same(
    await messages({ startTime: 200, endTime: 300 }),
    ["b run_2", "c run_1", "d run_1"],
    "range",
  );
  t.same(await messages({ startTime: 201, endTime: 299 }), [], "nothing strictly inside");
  t.same(await messages({ logStreamNames: [STREAM_B] }), ["c run_1", "d run_1"], "one stream");
  t.same(
    await messages({ logStreamNamePrefix: "2023/11/14/[$LATEST]a" }),
    ["a run_1", "b run_2"],
    "prefix",
  );
  t.same(
    await messages({ filterPattern: '"run_1"' }),
    ["a run_1", "c run_1", "d run_1"],
    "pattern",
  );
  t.same(await messages({ filterPattern: '"run_1" -d' }), ["a run_1", "c run_1"], "exclusion");
});

t.test("errors carry the AWS code, so the SDK names them", async (t) => {
  const { store, client, server } = await logsFixture(t);
  store.append(GROUP, STREAM_A, [{ timestamp: 1, message: "x" }]);
  await t.rejects(client.send(new FilterLogEventsCommand({ logGroupName: "/aws/lambda/none" })), {
    name: "ResourceNotFoundException",
    message: "The specified log group does not exist.",
    $metadata: { httpStatusCode: 400 },
  });
  await t.rejects(
    client.send(new FilterLogEventsCommand({ logGroupName: GROUP, nextToken: "bogus" })),
    {
      name: "InvalidParameterException",
      message: "The specified nextToken is invalid.",
    },
  );
  await t.rejects(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 10_001 })), {
    name: "InvalidParameterException",
    message: "Invalid value 10001 for parameter limit: allowed an integer from 1 to 10000",
  });
  await t.rejects(
    client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: "[a, b]" })),
    { name: "InvalidParameterException", message: /space-delimited patterns are not supported/ },
  );
  await t.rejects(
    client.send(new FilterLogEventsCommand({ logGroupName: GROUP, startTime: 5, endTime: 4 })),
    {
      name: "InvalidParameterException",
    },
  );
  for (const [command, message] of [
    [
      new FilterLogEventsCommand({
        logGroupName: GROUP,
        logStreamNames: [STREAM_A],
        logStreamNamePrefix: "x",
      }),
      "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
    ],
    [
      new FilterLogEventsCommand({ logGroupName: GROUP, logGroupIdentifier: GROUP }),
      "LogGroupName and LogGroupIdentifier are mutually exclusive parameters.",
    ],
    [
      new DescribeLogGroupsCommand({ logGroupNamePrefix: "/a", logGroupNamePattern: "b" }),
      "logGroupNamePrefix and logGroupNamePattern are mutually exclusive parameters.",
    ],
  ] as const) {
    await t.rejects(client.send(command as FilterLogEventsCommand), {
      name: "InvalidParameterException",
      message,
    });
  }
  await t.rejects(
    client.send(
      new DescribeLogStreamsCommand({
        logGroupName: GROUP,
        orderBy: "LastEventTime",
        logStreamNamePrefix: "x",
      }),
    ),
    {
      name: "InvalidParameterException",
      message: "Cannot order by LastEventTime with a logStreamNamePrefix.",
    },
  );
  const unsigned = await fetch(server.endpoint, {
    method: "POST",
    headers: {
      "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
      "Content-Type": "application/x-amz-json-1.1",
    },
    body: "{}",
  });
  t.equal(unsigned.status, 400, "unsigned request refused");
  t.same(
    await unsigned.json(),
    { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" },
    "AWS JSON error body",
  );
  t.equal(unsigned.headers.get("content-type"), "application/x-amz-json-1.1", "content type");
});

t.test("DescribeLogGroups lists groups by prefix, paged", async (t) => {
  const { store, client, server } = await logsFixture(t);
  const names = Array.from({ length: 7 }, (_, i) => `/aws/lambda/fn-${i}`);
  for (const g of [...names, "/other/group"])
    store.append(g, "s", [{ timestamp: 1, message: "m" }]);
  const seen: string[] = [];
  for await (const page of paginateDescribeLogGroups(
    { client, pageSize: 3 },
    { logGroupNamePrefix: "/aws/lambda/" },
  )) {
    t.ok((page.logGroups?.length ?? 0) <= 3, "page of at most 3");
    seen.push(...(page.logGroups ?? []).map((g) => g.logGroupName ?? ""));
  }
  t.same(seen, names, "every group of the prefix once, by name");
  const one = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/other" }));
  t.match(
    one.logGroups,
    [
      {
        logGroupName: "/other/group",
        arn: `arn:aws:logs:${server.region}:000000000000:log-group:/other/group:*`,
        logGroupArn: `arn:aws:logs:${server.region}:000000000000:log-group:/other/group`,
        creationTime: Number,
      },
    ],
    "group fields",
  );
});

t.test("DescribeLogStreams orders by name or last event time, either way, paged", async (t) => {
  const { store, client } = await logsFixture(t);
  store.append(GROUP, STREAM_A, [
    { timestamp: 10, message: "a" },
    { timestamp: 500, message: "b" },
  ]);
  store.append(GROUP, STREAM_B, [{ timestamp: 100, message: "c" }]);
  const names = async (input: Record<string, unknown>) =>
    (
      (await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, ...input })))
        .logStreams ?? []
    ).map((s) => s.logStreamName);
  t.same(await names({}), [STREAM_A, STREAM_B], "by name");
  t.same(await names({ descending: true }), [STREAM_B, STREAM_A], "by name, descending");
  t.same(await names({ orderBy: "LastEventTime" }), [STREAM_B, STREAM_A], "by last event");
  const first = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 1 }));
  t.match(
    first.logStreams,
    [{ logStreamName: STREAM_A, firstEventTimestamp: 10, lastEventTimestamp: 500 }],
    "first page and stream fields",
  );
  const second = await client.send(
    new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 1, nextToken: first.nextToken }),
  );
  t.same(
    second.logStreams?.map((s) => s.logStreamName),
    [STREAM_B],
    "second page",
  );
  t.equal(second.nextToken, undefined, "last page");
  await t.rejects(client.send(new DescribeLogStreamsCommand({ logGroupName: "/nope" })), {
    name: "ResourceNotFoundException",
  });
});
