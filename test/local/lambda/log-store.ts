import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";

import { LogStore, logStreamName, openLogStore } from "../../../local/lambda/log-store";

function tempDir(t: tap.Test): string {
  const dir = mkdtempSync(join(tmpdir(), "log-store-test-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("stream names follow Lambda's YYYY/MM/DD/[$LATEST]<id> (UTC)", async (t) => {
  const id = "0123456789abcdef0123456789abcdef";
  t.equal(logStreamName(Date.UTC(2026, 10, 3, 23, 59), id), `2026/11/03/[$LATEST]${id}`, "name");
});

t.test(
  "events of a group come back oldest first, across streams, within an inclusive range",
  async (t) => {
    const dir = tempDir(t);
    const store = new LogStore(dir);
    store.append("/aws/lambda/f", "s1", [
      { timestamp: 100, message: "a" },
      { timestamp: 300, message: "c" },
    ]);
    store.append("/aws/lambda/f", "s2", [{ timestamp: 200, message: "b" }]);
    store.append("/aws/lambda/other", "s3", [{ timestamp: 150, message: "x" }]);

    const all = await store.getLogEvents("/aws/lambda/f");
    t.same(
      all.map((e) => [e.timestamp, e.message, e.logStreamName]),
      [
        [100, "a", "s1"],
        [200, "b", "s2"],
        [300, "c", "s1"],
      ],
      "merged by timestamp",
    );
    const ranged = await store.getLogEvents("/aws/lambda/f", { startMs: 200, endMs: 300 });
    t.same(
      ranged.map((e) => e.message),
      ["b", "c"],
      "both ends inclusive",
    );
    t.same(await store.getLogEvents("/aws/lambda/none"), [], "unknown group has no events");
  },
);

t.test("the store is JSONL on disk and readable by a separate reader", async (t) => {
  const dir = tempDir(t);
  const emf = '{"_aws":{"Timestamp":1},"latency_ms":5}';
  const before = Date.now();
  new LogStore(dir).append("/aws/lambda/f", "2026/01/01/[$LATEST]ab", [
    { timestamp: 5, message: emf },
  ]);
  const after = Date.now();
  const file = join(
    dir,
    encodeURIComponent("/aws/lambda/f"),
    `${encodeURIComponent("2026/01/01/[$LATEST]ab")}.jsonl`,
  );
  const text = readFileSync(file, "utf8");
  t.ok(text.endsWith("}\n") && text.split("\n").length === 2, "one JSON line per event");
  const stored = JSON.parse(text) as { timestamp: number; message: string; ingestionTime: number };
  t.same(
    { timestamp: stored.timestamp, message: stored.message },
    { timestamp: 5, message: emf },
    "timestamp and message as given",
  );
  t.ok(
    stored.ingestionTime >= before && stored.ingestionTime <= after,
    "ingestionTime is the time of the write",
  );
  const events = await openLogStore(dir).getLogEvents("/aws/lambda/f");
  t.equal(events[0]?.message, emf, "message intact");
  t.equal(events[0]?.logStreamName, "2026/01/01/[$LATEST]ab", "stream name decoded");
});

t.test(
  "a stream reads back with ingestion times and positions; a partial last line is skipped",
  async (t) => {
    const dir = tempDir(t);
    const store = new LogStore(dir);
    store.append("/aws/lambda/g", "s", [
      { timestamp: 1, message: "a" },
      { timestamp: 2, message: "b" },
    ]);
    const file = join(dir, encodeURIComponent("/aws/lambda/g"), "s.jsonl");
    appendFileSync(file, '{"timestamp":3,"mess');
    const events = store.readStream("/aws/lambda/g", "s");
    t.same(
      events.map((e) => [e.timestamp, e.message, e.index]),
      [
        [1, "a", 0],
        [2, "b", 1],
      ],
      "complete lines only, in write order",
    );
    t.ok((events[0]?.ingestionTime ?? 0) > 0, "ingestion time read back");
    t.same(store.listGroups(), ["/aws/lambda/g"], "groups listed by name");
    t.ok(store.hasGroup("/aws/lambda/g") && !store.hasGroup("/aws/lambda/x"), "hasGroup");
    t.same(store.readStream("/aws/lambda/g", "none"), [], "unknown stream is empty");
  },
);
