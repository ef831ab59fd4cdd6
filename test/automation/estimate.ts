import t from "tap";
import { estimateRun, formatEstimate, modelledDurationMs } from "../../automation/estimate";
import type { Cell } from "../../core/cell";
import { sameForAll } from "../../core/workloads";

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
    concurrency: sameForAll(20),
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

t.test("the open loop's estimate counts rate × duration per trial, warm-ups on top", async (t) => {
  const e = estimateRun({
    cells: [events, batch],
    invocations: { events: 10, batch: 4 },
    trials: 2,
    concurrency: sameForAll(20),
    load: { model: "open", arrival_rate_per_s: 5, duration_s: 3 },
    warmup: { events: 4, batch: 4 },
    objectMb: 100,
    eventBytes: 1024,
    architecture: "arm64",
  });
  t.equal(e.invocations, 2 * (5 * 3 * 2 + 4), "15 per trial × 2 trials + 4 warm-up, per cell");
  t.equal(e.warmupInvocations, 8, "4 warm-up per cell");
  const item = (name: string) => e.items.find((i) => i.item.startsWith(name));
  t.equal(item("S3 PUT")?.quantity, String(34 * 1 + 34 * 15), "PUT-class requests");
  const text = formatEstimate(e, "Estimate:");
  t.match(text, /2 stacks \(one per cell\), 68 invocations \(8 of them warm-up\)/, "totals line");
  t.match(
    text,
    /open loop: 5\/s × 3 s = 15 expected invocations per trial \(Poisson\)/,
    "the load model is an assumption",
  );
  const closed = estimateRun({
    cells: [events],
    invocations: { events: 10, batch: 4 },
    trials: 2,
    concurrency: sameForAll(20),
    warmup: { events: 20, batch: 20 },
    objectMb: 100,
    eventBytes: 1024,
    architecture: "arm64",
  });
  t.equal(closed.invocations, 2 * 10 + 20, "closed: budget × trials + warm-up");
  // 20 warm-up environments at once: 20 cold starts of 300 ms, not min(20, 10) = 10.
  const noWarmup = estimateRun({
    cells: [events],
    invocations: { events: 10, batch: 4 },
    trials: 2,
    concurrency: sameForAll(20),
    objectMb: 100,
    eventBytes: 1024,
    architecture: "arm64",
  });
  const gbs = (x: typeof e) => Number(x.items[0]?.quantity.split(" ")[0]);
  t.equal(
    Math.round((gbs(closed) - gbs(noWarmup)) * 10) / 10,
    Math.round(((20 * 70 + 10 * 300) / 1000) * (1769 / 1024) * 10) / 10,
    "the warm-up adds 20 × 70 ms and 10 more cold starts",
  );
});

t.test(
  "each workload's environments (INIT billed once each) follow its own concurrency",
  async (t) => {
    const gbs = (concurrency: { events: number; batch: number }) =>
      estimateRun({
        cells: [events, batch],
        invocations: { events: 10, batch: 4 },
        trials: 2,
        concurrency,
        objectMb: 100,
        eventBytes: 1024,
        architecture: "arm64",
      }).items.find((i) => i.item.startsWith("Lambda compute"))?.quantity;
    t.equal(
      gbs({ events: 10, batch: 4 }),
      gbs(sameForAll(10)),
      "batch at 10 or 4 is 4 environments: its 4 invocations",
    );
    t.not(gbs({ events: 1, batch: 4 }), gbs({ events: 10, batch: 4 }), "events 1 vs 10 differ");
    t.not(gbs({ events: 10, batch: 1 }), gbs({ events: 10, batch: 4 }), "batch 1 vs 4 differ");
  },
);
