import t from "tap";
import { mean, paretoMinMin, percentile, percentileSorted, sampleStd } from "../../analysis/stats";

t.test("percentile interpolates linearly between closest ranks (numpy default)", async (t) => {
  t.equal(percentile([1, 2, 3, 4], 95), 3.85, "p95 of 1..4: h = 2.85 → 3 + 0.85");
  t.equal(percentile([4, 1, 3, 2], 50), 2.5, "p50 of 1..4 is the midpoint, input order irrelevant");
  t.equal(percentile([1, 2, 3, 4], 0), 1, "p0 is the minimum");
  t.equal(percentile([1, 2, 3, 4], 100), 4, "p100 is the maximum");
  t.equal(percentile([10, 20], 99), 19.9, "p99 of two values: 10 + 0.99 × 10");
  t.equal(percentile([7], 95), 7, "a single value is every percentile");
  t.ok(Number.isNaN(percentile([], 95)), "no values: NaN");
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(Number(percentileSorted(hundred, 95).toFixed(10)), 95.05, "p95 of 1..100 is 95.05");
});

t.test("mean and sample standard deviation match hand-computed values", async (t) => {
  t.equal(mean([2, 4, 4, 4, 5, 5, 7, 9]), 5, "mean of the classic set");
  t.equal(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7), "sample std uses n − 1");
  t.ok(Number.isNaN(sampleStd([3])), "one value has no sample std");
  t.ok(Number.isNaN(mean([])), "no values: NaN mean");
});

t.test("Pareto front keeps exactly the non-dominated points", async (t) => {
  const pts = [
    { x: 1, y: 10 }, // fastest
    { x: 2, y: 5 }, // front
    { x: 3, y: 5 }, // dominated by (2, 5)
    { x: 4, y: 1 }, // cheapest
    { x: 5, y: 6 }, // dominated
    { x: Number.NaN, y: 0 }, // no data
  ];
  t.same(paretoMinMin(pts), [0, 1, 3], "indices of the front");
  t.same(
    paretoMinMin([
      { x: 1, y: 1 },
      { x: 1, y: 1 },
    ]),
    [0, 1],
    "ties dominate neither",
  );
});
