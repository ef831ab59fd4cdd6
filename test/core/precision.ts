/**
 * Precision formulas against values computed with Debian's python3-scipy
 * (`scipy.stats.norm.ppf`, `norm.pdf`, `lognorm`) and by hand.
 */
import t from "tap";
import {
  invocationsForPrecision,
  invocationsToBoundQuantile,
  normalDensity,
  normalQuantile,
  PRECISION_DEFAULTS,
  relativeHalfWidth,
} from "../../core/precision";

t.test("the normal quantile matches scipy's norm.ppf to 1e-8 in every branch", async (t) => {
  const scipy: [number, number][] = [
    [0.001, -3.090232306167813],
    [0.02425, -1.972961051311885],
    [0.3, -0.5244005127080409],
    [0.5, 0],
    [0.9, 1.2815515655446004],
    [0.95, 1.6448536269514722],
    [0.975, 1.959963984540054],
    [0.99, 2.3263478740408408],
    [0.999999, 4.753424308817087],
  ];
  for (const [p, z] of scipy) {
    t.ok(Math.abs(normalQuantile(p) - z) < 1e-8, `z(${p}) = ${normalQuantile(p)} ≈ ${z}`);
  }
  t.throws(() => normalQuantile(1), { name: "RangeError" }, "p = 1 has no quantile");
  t.ok(
    Math.abs(normalDensity(1.6448536269514722) - 0.10313564037537139) < 1e-15,
    "φ(z_0.95) = scipy's norm.pdf",
  );
});

t.test("59 invocations are the fewest whose maximum bounds a p95 at 95 %", async (t) => {
  t.equal(invocationsToBoundQuantile(), 59, "0.95^59 = 0.0485 ≤ 0.05 < 0.95^58 = 0.0510");
  t.equal(invocationsToBoundQuantile(0.99, 0.95), 299, "p99: ln 0.05 / ln 0.99 = 298.07");
  t.equal(invocationsToBoundQuantile(0.5, 0.75), 2, "exact power: 0.5² = 0.25");
});

t.test("±10 % of a p95 at σ 0.57 needs 558 invocations (issue 12: ≈ 560)", async (t) => {
  t.equal(PRECISION_DEFAULTS.sigma, 0.57, "the stated default spread");
  // scipy: (1.959964 × 0.57 × √0.0475 / (0.1031356 × 0.1))² = 557.342
  t.equal(invocationsForPrecision(0.1), 558, "the default");
  t.equal(invocationsForPrecision(0.05), 2230, "half the width, four times the invocations");
  t.equal(invocationsForPrecision(0.1, { sigma: 1 }), 1716, "σ 1: 1715.43");
  t.equal(invocationsForPrecision(0.2, { sigma: 0.3 }), 39, "σ 0.3, ±20 %: 38.60");
  // scipy's lognorm(0.57).ppf / pdf at n = 560 give a half-width of 0.099762.
  t.ok(
    Math.abs(relativeHalfWidth(560) - 0.09976241838257749) < 1e-8,
    `560 invocations: ±${relativeHalfWidth(560)}`,
  );
  t.ok(
    Math.abs(relativeHalfWidth(invocationsForPrecision(0.1)) - 0.1) < 0.0002,
    "the inverse of each other",
  );
  t.throws(() => invocationsForPrecision(0), { name: "RangeError" }, "zero precision");
  t.throws(() => relativeHalfWidth(10, { sigma: 0 }), { name: "RangeError" }, "zero spread");
});
