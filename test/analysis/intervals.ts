import t from "tap";
import { formatPrecision, geoMeanTInterval } from "../../analysis/intervals";
import { percentileSorted } from "../../analysis/stats";
import { seededRandom } from "../../core/matrix";

t.test("the t interval on ln values matches scipy (t.ppf(0.975, 2))", async (t) => {
  // /usr/bin/python3: l = log([100, 120, 90]); exp(l.mean() ± t.ppf(.975, 2)·l.std(ddof=1)/√3)
  const i = geoMeanTInterval([100, 120, 90]);
  t.equal(i.n, 3, "three runs");
  t.ok(Math.abs(i.estimate - 102.59855680060183) < 1e-9, `geometric mean ${i.estimate}`);
  // jStat's t quantile is an iterative inverse: agreement to 1e-9 relative.
  t.ok(Math.abs(i.low / 71.46915410020875 - 1) < 1e-9, `low ${i.low}`);
  t.ok(Math.abs(i.high / 147.28681191338703 - 1) < 1e-9, `high ${i.high}`);
  t.ok(Math.abs(i.precision - 0.4355641687985532) < 1e-9, `precision ${i.precision}`);
  t.equal(formatPrecision(i), "×/÷ 1.44 (±44%)", "achieved precision as printed");
});

t.test("one run gives an estimate but no interval, and says so", async (t) => {
  const i = geoMeanTInterval([100, Number.NaN, 0]);
  t.equal(i.n, 1, "NaN and 0 are ignored");
  t.ok(Math.abs(i.estimate - 100) < 1e-9, `estimate is the value (${i.estimate})`);
  t.ok(Number.isNaN(i.low) && Number.isNaN(i.high), "no bounds");
  t.equal(formatPrecision(i), "n/a (1 run)", "precision unknown");
});

t.test(
  "nominal 95% covers a known p95 in 90–98% of 600 seeded simulations (3 runs × 30 invocations)",
  async (t) => {
    // Latencies lognormal(ln 100, 0.3) with a per-run ln shift N(0, 0.05²): the true p95 of a
    // typical run is exp(ln 100 + 1.6449 · 0.3). Each run's p95 is interpolated as everywhere.
    const random = seededRandom(12);
    const normal = (): number =>
      Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const sigma = 0.3;
    const truth = Math.exp(Math.log(100) + 1.6448536269514722 * sigma);
    const sims = 600;
    let covered = 0;
    for (let s = 0; s < sims; s++) {
      const p95s: number[] = [];
      for (let run = 0; run < 3; run++) {
        const shift = 0.05 * normal();
        const lat = Float64Array.from({ length: 30 }, () =>
          Math.exp(Math.log(100) + shift + sigma * normal()),
        ).sort();
        p95s.push(percentileSorted(lat, 95));
      }
      const i = geoMeanTInterval(p95s);
      if (i.low <= truth && truth <= i.high) covered++;
    }
    const rate = covered / sims;
    t.ok(rate >= 0.9 && rate <= 0.98, `coverage ${(100 * rate).toFixed(1)}% in [90, 98]`);
  },
);
