import t from "tap";
import { bestSet, type Replicate } from "../../analysis/compare";
import { seededRandom } from "../../core/matrix";

const LATENCY = {
  a: [100, 110, 105, 95],
  b: [130, 140, 125, 150],
  c: [101, 99, 108, 112],
} as const;

function unblocked(): Replicate[] {
  return Object.entries(LATENCY).flatMap(([cellId, xs]) =>
    xs.map((x) => ({ cellId, block: Number.NaN, y: Math.log(x) })),
  );
}

t.test(
  "intervals are the wider of Tukey HSD (statsmodels) and Games–Howell (scipy by hand)",
  async (t) => {
    // /usr/bin/python3: pairwise_tukeyhsd(log(y), groups) → a–b CI [0.14967272, 0.41764634],
    // a–c [-0.10964114, 0.15833248]; scipy.stats.studentized_range.ppf(0.95, 3, 9) =
    // 3.948492203457504. Games–Howell, ν = Welch–Satterthwaite rounded down, q =
    // studentized_range.ppf(0.95, 3, ⌊ν⌋), half = q·√((s₁²/n₁ + s₂²/n₂)/2): a–b
    // [0.11686575872731969, 0.4504532967351162], a–c [-0.11455229592168234, 0.1632436318499789]
    // — wider than Tukey's for both pairs here, so those are the intervals.
    const r = bestSet(unblocked());
    t.equal(r.best, "a", "a has the lowest geometric mean");
    t.equal(r.df, 9, "one-way error df = N − k");
    t.equal(r.blocked, false, "no blocks given");
    t.ok(Math.abs(r.qCrit - 3.948492203457504) < 1e-6, `q crit ${r.qCrit}`);
    const b = r.cells.find((c) => c.cellId === "b");
    const c = r.cells.find((c) => c.cellId === "c");
    t.ok(b !== undefined && c !== undefined, "both compared");
    if (b === undefined || c === undefined) return;
    const close = (x: number, y: number): boolean => Math.abs(x - y) < 1e-6;
    t.ok(close(Math.log(b.ratioToBest), 0.28365953), `b − a ${Math.log(b.ratioToBest)}`);
    t.ok(close(Math.log(b.ratioLow), 0.11686575872731969), `b low ${Math.log(b.ratioLow)}`);
    t.ok(close(Math.log(b.ratioHigh), 0.4504532967351162), `b high ${Math.log(b.ratioHigh)}`);
    t.ok(close(Math.log(c.ratioLow), -0.11455229592168234), `c low ${Math.log(c.ratioLow)}`);
    t.ok(close(Math.log(c.ratioHigh), 0.1632436318499789), `c high ${Math.log(c.ratioHigh)}`);
    t.ok(Math.log(b.ratioLow) <= 0.14967272, "never narrower than Tukey's interval");
    t.equal(b.worse, true, "b is slower by more than the 10% margin, significantly");
    t.equal(c.worse, false, "c cannot be told apart from a");
    t.same(r.members, ["a", "c"], "best set: a and c");
  },
);

t.test("a quiet cell next to a noisy one is not separated on the pooled error alone", async (t) => {
  // Twenty quiet cells pull the pooled error down (Tukey alone: the noisy cell's interval
  // against the best is about 1.9–3.4×); the noisy cell's own three runs spread ×/÷ 1.35.
  const reps: Replicate[] = [];
  for (let c = 0; c < 20; c++) {
    for (const [i, e] of [0.002, -0.001, -0.001].entries()) {
      reps.push({ cellId: `q${c}`, block: Number.NaN, y: Math.log(100) + e + 0.0001 * i });
    }
  }
  for (const e of [1.3, 0.7, 1.0]) {
    reps.push({ cellId: "noisy", block: Number.NaN, y: Math.log(100) + e });
  }
  const r = bestSet(reps);
  const noisy = r.cells.find((c) => c.cellId === "noisy");
  const best = r.cells.find((c) => c.cellId === r.best);
  const tukeyHalf = r.qCrit * Math.sqrt((r.mse / 2) * (1 / 3 + 1 / 3));
  const tukeyLow = (noisy?.meanLog ?? 0) - (best?.meanLog ?? 0) - tukeyHalf;
  t.ok(
    tukeyLow > Math.log(1.1),
    `Tukey's pooled interval alone would exclude it (low ${Math.exp(tukeyLow)})`,
  );
  t.equal(noisy?.worse, false, "with Games–Howell's own-variance interval it stays");
  t.equal(r.members.length, 21, "no cell excluded");
});

t.test("the equivalence margin keeps a significantly but slightly slower cell", async (t) => {
  const reps: Replicate[] = [];
  for (let i = 0; i < 6; i++) {
    const noise = [0.001, -0.002, 0.0015, -0.001, 0.002, -0.0015][i] ?? 0;
    reps.push({ cellId: "fast", block: Number.NaN, y: Math.log(100) + noise });
    reps.push({ cellId: "slower", block: Number.NaN, y: Math.log(105) - noise });
  }
  const strict = bestSet(reps, 0);
  const lenient = bestSet(reps, 0.1);
  t.same(strict.members, ["fast"], "without a margin a 5% difference is significant");
  t.same(lenient.members, ["fast", "slower"], "within the 10% margin it stays in the best set");
});

t.test("trials as blocks: a shared per-trial shift is taken out of the error", async (t) => {
  // Trial 1 is 3× slower for every cell (cold environments); cell y is 30% slower than x.
  const reps: Replicate[] = [];
  const shift = [Math.log(3), 0, 0.05, -0.05];
  const noise = [0.01, -0.02, 0.015, -0.005, 0.02, -0.01, 0.0, 0.01];
  for (let trial = 1; trial <= 4; trial++) {
    const s = shift[trial - 1] ?? 0;
    reps.push({ cellId: "x", block: trial, y: Math.log(100) + s + (noise[trial - 1] ?? 0) });
    reps.push({ cellId: "y", block: trial, y: Math.log(130) + s + (noise[trial + 3] ?? 0) });
  }
  const blocked = bestSet(reps);
  t.equal(blocked.blocked, true, "complete block layout detected");
  t.equal(blocked.df, 3, "(k − 1)(b − 1) error df");
  t.same(blocked.members, ["x"], "with blocks, y is significantly slower");
  const oneWay = bestSet(reps.map((r) => ({ ...r, block: Number.NaN })));
  t.same(oneWay.members, ["x", "y"], "pooling the trial shift into the error hides it");
});

t.test("one run per cell cannot be tested: every cell stays and the reason is given", async (t) => {
  const r = bestSet([
    { cellId: "a", block: 1, y: 1 },
    { cellId: "b", block: 1, y: 2 },
  ]);
  t.same(r.members, ["a", "b"], "no exclusion without replicates");
  t.equal(r.untestable, "no replicate runs to estimate the error (one run per cell)", "why");
});

t.test(
  "A/A: with no true difference among 9 cells, 1,000 seeded simulations exclude a cell in ≤ 5% (and without the margin)",
  async (t) => {
    const random = seededRandom(7);
    const normal = (): number =>
      Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const sims = 1000;
    let claims = 0;
    let claimsNoMargin = 0;
    for (let s = 0; s < sims; s++) {
      const shifts = [normal(), normal(), normal()].map((z) => 0.3 * z);
      const reps: Replicate[] = [];
      for (let c = 0; c < 9; c++) {
        for (let trial = 1; trial <= 3; trial++) {
          reps.push({
            cellId: `c${c}`,
            block: trial,
            y: Math.log(100) + (shifts[trial - 1] ?? 0) + 0.12 * normal(),
          });
        }
      }
      if (bestSet(reps).members.length < 9) claims++;
      if (bestSet(reps, 0).members.length < 9) claimsNoMargin++;
    }
    t.ok(
      claims / sims <= 0.05,
      `${claims} of ${sims} simulations claimed a difference (10% margin)`,
    );
    // Tukey alone errs in 5% exactly for a balanced design; taking the wider of Tukey and
    // Games–Howell is conservative, but still errs sometimes: the test is not vacuous.
    t.ok(
      claimsNoMargin / sims <= 0.05 && claimsNoMargin > 0,
      `${claimsNoMargin} of ${sims} without a margin: ≤ 5% and not vacuous`,
    );
  },
);

t.test("two runs per cell with a noisy cell: the interval is unbounded, never NaN", async (t) => {
  // Welch df rounds down to 1 for a noisy cell of two runs against a quiet one; no finite q.
  const reps: Replicate[] = [];
  for (let c = 0; c < 26; c++) {
    reps.push({ cellId: `q${c}`, block: 1, y: Math.log(100) + 0.001 * c });
    reps.push({ cellId: `q${c}`, block: 2, y: Math.log(100) + 0.001 * c + 0.0001 });
  }
  reps.push({ cellId: "noisy", block: 1, y: Math.log(100) + 2 });
  reps.push({ cellId: "noisy", block: 2, y: Math.log(100) + 0.2 });
  const r = bestSet(reps);
  const noisy = r.cells.find((c) => c.cellId === "noisy");
  t.equal(noisy?.ratioLow, 0, "lower bound 0");
  t.equal(noisy?.ratioHigh, Number.POSITIVE_INFINITY, "upper bound unbounded");
  t.equal(noisy?.worse, false, "not claimed slower");
});
