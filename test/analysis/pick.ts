import t from "tap";
import type { CellStats } from "../../analysis/cells";
import { nonBindingLevels, offeredConcurrency } from "../../analysis/load-model";
import {
  balancedValue,
  parseBalancedWeight,
  parseStrategy,
  pickWorkload,
} from "../../analysis/pick";
import type { CellUnits } from "../../analysis/units";

/** A cell's per-unit figures with three identical-spread runs around `latency`. */
function unit(
  id: string,
  memoryMb: number,
  size: number,
  rc: number,
  latency: number,
  cost: number,
): CellUnits {
  const cell = {
    cellId: id,
    workload: "events",
    memoryMb,
    size,
    reservedConcurrency: rc,
  } as unknown as CellStats;
  const runs = [0.98, 1, 1.02].map((f) => latency * f);
  return {
    cell,
    warmRuns: 3,
    warmP95: { n: 3, estimate: latency, low: latency * 0.9, high: latency * 1.1, precision: 0.1 },
    warmP50MeanMs: latency / 2,
    warmP99MeanMs: latency * 1.2,
    batchWaitMs: 0,
    unitLatency: {
      n: 3,
      estimate: latency,
      low: latency * 0.9,
      high: latency * 1.1,
      precision: 0.1,
    },
    replicates: runs.map((x, i) => ({ trial: i + 1, y: Math.log(x) })),
    costPerUnit: cost,
    costUnit: "1M events",
    throughputPerUnit: 100,
    throughputUnit: "events/s",
    mbPerSPerInvocation: Number.NaN,
    cold: {
      coldStarts: 0,
      measuredColdRate: 0,
      warmupColdStarts: 0,
      initMedianMs: Number.NaN,
      initP95Ms: Number.NaN,
      coldClientMedianMs: Number.NaN,
      coldClientP95Ms: Number.NaN,
    },
  };
}

const cells = [
  unit("fast-dear", 2048, 10, 0, 100, 4),
  unit("mid", 1024, 10, 0, 103, 2),
  unit("slow-cheap", 512, 100, 0, 300, 0.5),
];
const factors = [
  { factor: "memory_mb", pHolm: 0.001 },
  { factor: "batch_events", pHolm: 0.001 },
  { factor: "reserved_concurrency", pHolm: 0.8 },
];

t.test(
  "strategies pick within the best set: cost, speed, and Power Tuning's balanced value",
  async (t) => {
    const o = { balancedWeight: 0.5, eventRatePerS: 1000 };
    const cost = pickWorkload("events", cells, factors, { ...o, strategy: "cost" });
    t.same(
      cost.members.map((m) => m.cell.cellId),
      ["fast-dear", "mid"],
      "the 3× slower cell is significantly worse and leaves the best set",
    );
    t.equal(
      cost.pick?.cell.cellId,
      "mid",
      "cost: cheapest in the best set, not the cheapest overall",
    );
    const speed = pickWorkload("events", cells, factors, { ...o, strategy: "speed" });
    t.equal(speed.pick?.cell.cellId, "fast-dear", "speed: fastest");
    // balanced, w = 0.5: fast-dear 0.5·4/4 + 0.5·100/103 = 0.985; mid 0.5·2/4 + 0.5·1 = 0.75.
    t.equal(balancedValue(cells[1] as CellUnits, 4, 103, 0.5), 0.75, "balanced value by hand");
    const balanced = pickWorkload("events", cells, factors, { ...o, strategy: "balanced" });
    t.equal(balanced.pick?.cell.cellId, "mid", "balanced w = 0.5");
    const speedOnly = pickWorkload("events", cells, factors, {
      ...o,
      strategy: "balanced",
      balancedWeight: 0,
    });
    t.equal(speedOnly.pick?.cell.cellId, "fast-dear", "balanced w = 0 is the speed strategy");
    t.match(
      cost.oneLine,
      /reserved concurrency: no significant effect/,
      "a non-significant factor's level is not named",
    );
    t.match(cost.oneLine, /1024 MB, 10 events\/object/, "significant factors are named");
    t.match(cost.oneLine, /best set 2 of 3 eligible cells$/, "the set's size is stated");
  },
);

t.test("cells that cannot be told apart are said to be so", async (t) => {
  const same = [unit("a", 512, 10, 0, 100, 1), unit("b", 512, 10, 50, 101, 1.1)];
  const p = pickWorkload("events", same, factors, {
    strategy: "cost",
    balancedWeight: 0.5,
    eventRatePerS: 1000,
  });
  t.equal(p.separated, false, "no cell excluded");
  t.match(p.oneLine, /no significant difference among 2 cells$/, "said in the one-line answer");
});

t.test("bad strategy and weight values are named with what is allowed", async (t) => {
  t.equal(parseStrategy("--strategy", "speed"), "speed", "a known strategy");
  t.throws(() => parseStrategy("--strategy", "fast"), {
    name: "InvalidInputError",
    message: '--strategy="fast" is invalid: allowed one of cost, speed, balanced',
  });
  t.equal(parseBalancedWeight("--balanced-weight", "0.3"), 0.3, "a weight in range");
  for (const bad of ["-0.1", "1.01", "x", ""]) {
    t.throws(
      () => parseBalancedWeight("--balanced-weight", bad),
      { name: "InvalidInputError" },
      `rejects "${bad}"`,
    );
  }
});

t.test("reserved-concurrency levels that do not bind are the same treatment", async (t) => {
  t.same(
    nonBindingLevels(
      [0, 10, 50],
      offeredConcurrency({ model: "closed", concurrency: { events: 20, batch: 3 } }, "events", 0),
    ),
    [0, 50],
    "closed loop C = 20",
  );
  const open = { model: "open", arrivalRatePerS: 50, durationS: 60 } as const;
  t.equal(offeredConcurrency(open, "events", 100), 5, "Little's law: 50/s × 0.1 s");
  t.same(nonBindingLevels([0, 10, 50], 5), [0, 10, 50], "at 5 in flight no level binds");
});
