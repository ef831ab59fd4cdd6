import { gzipSync } from "node:zlib";
import t from "tap";
import {
  EVENT_SOURCE,
  eventLine,
  eventsPayload,
  fillRandom,
  partPlan,
  randomStream,
} from "../../handlers/generators";

const MIB = 1024 * 1024;

t.test(
  "an event line is exactly EVENT_BYTES bytes, newline included, and valid JSON",
  async (t) => {
    for (const size of [256, 1024, 8192]) {
      const line = eventLine(size);
      t.equal(Buffer.byteLength(line), size, `line of ${size} has ${size} bytes`);
      t.ok(line.endsWith("\n"), `line of ${size} ends with a newline`);
      t.equal(line.indexOf("\n"), size - 1, `line of ${size} has exactly one newline, at the end`);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      t.same(
        Object.keys(parsed),
        ["timestamp", "event_id", "source", "data"],
        "fields of the event",
      );
      t.equal(parsed.source, EVENT_SOURCE, "source field");
      t.match(parsed.event_id, /^[0-9a-f-]{36}$/, "event_id is a UUID");
      t.ok(!Number.isNaN(Date.parse(String(parsed.timestamp))), "timestamp parses as a date");
    }
  },
);

t.test("an event size too small for the fields is a RangeError", async (t) => {
  t.throws(() => eventLine(64), { name: "RangeError" }, "64 bytes cannot hold the fields");
});

t.test("the events payload is NDJSON of N valid lines and N × EVENT_BYTES bytes", async (t) => {
  for (const [count, size] of [
    [1, 256],
    [10, 1024],
    [100, 8192],
  ] as const) {
    const body = eventsPayload(count, size);
    t.equal(body.length, count * size, `${count} events of ${size} bytes`);
    const lines = body.toString("utf8").split("\n");
    t.equal(lines.pop(), "", "the payload ends with a newline");
    t.equal(lines.length, count, `${count} lines`);
    const ids = new Set(lines.map((l) => (JSON.parse(l) as { event_id: string }).event_id));
    t.equal(ids.size, count, "every event has its own event_id");
  }
});

t.test("the part plan covers the object exactly, the last part smaller", async (t) => {
  const parts = [...partPlan(12 * MIB, 5 * MIB)];
  t.same(
    parts,
    [
      { partNumber: 1, bytes: 5 * MIB },
      { partNumber: 2, bytes: 5 * MIB },
      { partNumber: 3, bytes: 2 * MIB },
    ],
    "12 MiB in 5 MiB parts",
  );
  t.equal([...partPlan(64 * MIB, 8 * MIB)].length, 8, "an exact multiple has no short part");
});

t.test("fillRandom overwrites the whole buffer with incompressible bytes", async (t) => {
  const buffer = Buffer.alloc(9 * MIB + 7);
  await fillRandom(buffer);
  const zeros = buffer.subarray(buffer.length - 4096).every((b) => b === 0);
  t.notOk(zeros, "the tail past the last full slice is filled too");
  const gz = gzipSync(buffer.subarray(0, 2 * MIB)).length;
  t.ok(gz / (2 * MIB) > 0.99, `gzip keeps ${((gz / (2 * MIB)) * 100).toFixed(2)}% of the size`);
});

t.test("the random stream yields exactly the total, in one reused buffer", async (t) => {
  const total = 128 * MIB + 12345;
  const chunk = 4 * MIB;
  const before = process.memoryUsage().arrayBuffers;
  let bytes = 0;
  let chunks = 0;
  let peak = 0;
  const backing = new Set<ArrayBufferLike>();
  for await (const piece of randomStream(total, chunk)) {
    bytes += piece.length;
    chunks++;
    backing.add(piece.buffer);
    if (chunks === 2) {
      const gz = gzipSync(piece).length;
      t.ok(
        gz / piece.length > 0.99,
        `a chunk stays incompressible (${gz} of ${piece.length} bytes)`,
      );
    }
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  }
  t.equal(bytes, total, "total bytes exact");
  t.equal(chunks, 33, "32 full chunks and one short one");
  t.equal(backing.size, 1, "every chunk is a view of the same buffer");
  // A stream held whole would grow by the total (128 MiB); one chunk plus gzip's garbage stays
  // far below it.
  t.ok(peak < 4 * chunk, `array buffers grew by ${(peak / MIB).toFixed(1)} MiB, under 4 chunks`);
});
