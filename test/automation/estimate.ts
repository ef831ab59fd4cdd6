import t from "tap";
import { estimateRun, formatEstimate, modelledDurationMs } from "../../automation/estimate";
import type { Cell } from "../../core/cell";

const events: Cell = {
  workload: "events",
  memoryMb: 1769,
  batchEvents: 1024,
  reservedConcurrency: 0,
};
const batch: Cell = { workload: "batch", memoryMb: 1769, multipartMb: 8, reservedConcurrency: 10 };

t.test(
  "the duration model: a PUT plus CPU per MiB (events), the slower of network and generation (batch)",
  async (t) => {
    t.equal(
      modelledDurationMs(events, 100, 1024),
      50 + 20,
      "1 MiB of events at 1 vCPU: 50 + 20 ms",
    );
    t.equal(
      modelledDurationMs({ ...events, memoryMb: 1769 / 2 }, 100, 1024),
      50 + 40,
      "half a vCPU doubles the CPU part",
    );
    t.equal(
      modelledDurationMs(batch, 78, 1024),
      100 + ((78 * 1048576) / 1e6 / 78) * 1000,
      "78 MiB at 78 MB/s",
    );
  },
);

t.test("the estimate counts requests, PUTs, bytes and stacks exactly", async (t) => {
  const e = estimateRun({
    cells: [events, batch],
    invocations: { events: 10, batch: 4 },
    trials: 2,
    concurrency: 20,
    objectMb: 100,
    eventBytes: 1024,
    architecture: "arm64",
  });
  t.equal(e.stacks, 2, "one stack per cell");
  t.equal(e.invocations, 20 + 8, "invocations × trials");
  const item = (name: string) => e.items.find((i) => i.item.startsWith(name));
  // events: 1 PUT each; batch: 13 parts + create + complete = 15 each.
  t.equal(item("S3 PUT")?.quantity, String(20 * 1 + 8 * 15), "PUT-class requests");
  t.equal(item("Lambda requests")?.usd, 28 * (0.2 / 1_000_000), "request cost");
  t.ok(e.totalUsd > 0, "a positive total");
  t.equal(
    e.totalUsd,
    e.items.reduce((s, i) => s + i.usd, 0),
    "the total is the sum of the items",
  );
  const text = formatEstimate(e, "Estimate:");
  t.match(text, /^Estimate:\n/, "heading first");
  t.match(text, /2 stacks \(one per cell\), 28 invocations/, "stacks printed");
  t.match(text, /assumptions:/, "assumptions printed");
});
