import t from "tap";
import { arrivalSeed, poissonSchedule } from "../../automation/arrivals";
import { seededRandom } from "../../core/matrix";

t.test("a trial's arrival seed derives from the run's seed and the trial", async (t) => {
  t.equal(arrivalSeed(1, 1), 337933587, "sha256('arrivals:1:1'), first 4 bytes");
  t.equal(arrivalSeed(1, 1), arrivalSeed(1, 1), "reproducible");
  t.not(arrivalSeed(1, 2), arrivalSeed(1, 1), "each trial its own arrivals");
  t.not(arrivalSeed(2, 1), arrivalSeed(1, 1), "each run seed its own");
});

t.test("the schedule is the seeded exponential gaps, cut at the duration", async (t) => {
  const seed = arrivalSeed(1, 1);
  const offsets = poissonSchedule(20, 1, seed);
  // By hand: gap k = −ln(1 − U_k) / 20 s from the same generator.
  const random = seededRandom(seed);
  const expected: number[] = [];
  for (let at = 0; ; ) {
    at += (-Math.log(1 - random()) / 20) * 1000;
    if (at >= 1000) break;
    expected.push(at);
  }
  t.same(offsets, expected, "exactly the generator's gaps");
  t.equal(offsets.length, 23, "23 arrivals in 1 s at 20/s for this seed");
  t.equal(offsets[0], 16.97993084663986, "first arrival pinned");
  t.equal(offsets.at(-1), 971.9613215960728, "last arrival pinned");
  t.same(poissonSchedule(20, 1, seed), offsets, "the same seed gives the same times");
  t.throws(() => poissonSchedule(0, 1, 1), { name: "RangeError" }, "a zero rate is refused");
});

t.test("over many seeds the count has the Poisson mean and variance R × S", async (t) => {
  const counts = Array.from({ length: 2000 }, (_, i) => poissonSchedule(20, 1, i).length);
  const mean = counts.reduce((s, n) => s + n, 0) / counts.length;
  const variance = counts.reduce((s, n) => s + (n - mean) ** 2, 0) / (counts.length - 1);
  // Standard errors: mean √(20/2000) = 0.1; variance ≈ 20 √(2/2000) ≈ 0.65 (plus excess kurtosis).
  t.ok(Math.abs(mean - 20) < 0.4, `mean ${mean} ≈ 20`);
  t.ok(Math.abs(variance - 20) < 3, `variance ${variance} ≈ 20`);
});
