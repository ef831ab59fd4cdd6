import t from "tap";
import { factorialAnova, hasAnova, type Observation } from "../../analysis/anova";

/**
 * Montgomery, Design and Analysis of Experiments (8th ed.), Example 5.1, the battery design
 * experiment: life (hours) by material type (1–3) × temperature (15, 70, 125 °F), n = 4.
 * Table 5.5: SS material 10,683.72 (F 7.91, P 0.0020), temperature 39,118.72 (F 28.97,
 * P < 0.0001), interaction 9,613.78 (F 3.56, P 0.0186), error 18,230.75 (df 27), total 77,646.97.
 */
const BATTERY: Record<string, Record<string, number[]>> = {
  "1": { "15": [130, 155, 74, 180], "70": [34, 40, 80, 75], "125": [20, 70, 82, 58] },
  "2": { "15": [150, 188, 159, 126], "70": [136, 122, 106, 115], "125": [25, 70, 58, 45] },
  "3": { "15": [138, 110, 168, 160], "70": [174, 120, 150, 139], "125": [96, 104, 82, 60] },
};

/**
 * Montgomery, Example 5.3, the soft drink bottling experiment: fill-height deviation by
 * carbonation (10, 12, 14 %) × pressure (25, 30 psi) × line speed (200, 250 bpm), n = 2.
 * Table 5.15: SS A 252.750, B 45.375, C 22.042, AB 5.250, AC 0.583, BC 1.042, ABC 1.083,
 * error 8.500 (df 12), total 336.625 (df 23). Our residual pools ABC with error: 9.583, df 14.
 */
const BOTTLING: [number, number, number, number[]][] = [
  [10, 25, 200, [-3, -1]],
  [10, 25, 250, [-1, 0]],
  [10, 30, 200, [-1, 0]],
  [10, 30, 250, [1, 1]],
  [12, 25, 200, [0, 1]],
  [12, 25, 250, [2, 1]],
  [12, 30, 200, [2, 3]],
  [12, 30, 250, [6, 5]],
  [14, 25, 200, [5, 4]],
  [14, 25, 250, [7, 6]],
  [14, 30, 200, [7, 9]],
  [14, 30, 250, [10, 11]],
];

function row(result: ReturnType<typeof factorialAnova>, term: string) {
  if (!hasAnova(result)) throw new Error(`no ANOVA: ${result.reason}`);
  const r = result.rows.find((x) => x.term === term);
  if (r === undefined) throw new Error(`no row ${term}`);
  return r;
}

t.test("two-factor ANOVA reproduces Montgomery Example 5.1 (battery life)", async (t) => {
  const obs: Observation[] = [];
  for (const [m, temps] of Object.entries(BATTERY)) {
    for (const [temp, ys] of Object.entries(temps))
      for (const y of ys) obs.push({ levels: [m, temp], y });
  }
  const res = factorialAnova(["material", "temperature"], obs);
  const close = (a: number, b: number, tol: number, msg: string) =>
    t.ok(Math.abs(a - b) <= tol, `${msg}: ${a} ≈ ${b}`);
  close(row(res, "material").ss, 10683.72, 0.01, "SS material");
  close(row(res, "temperature").ss, 39118.72, 0.01, "SS temperature");
  close(row(res, "material×temperature").ss, 9613.78, 0.01, "SS interaction");
  close(row(res, "residual").ss, 18230.75, 0.01, "SS error");
  close(row(res, "total").ss, 77646.97, 0.01, "SS total");
  t.equal(row(res, "residual").df, 27, "error df");
  t.equal(row(res, "material×temperature").df, 4, "interaction df");
  close(row(res, "material").f, 7.91, 0.005, "F material");
  close(row(res, "temperature").f, 28.97, 0.005, "F temperature");
  close(row(res, "material×temperature").f, 3.56, 0.005, "F interaction");
  close(row(res, "material").p, 0.002, 0.00005, "P material");
  close(row(res, "material×temperature").p, 0.0186, 0.00005, "P interaction");
  t.ok(row(res, "temperature").p < 0.0001, "P temperature < 0.0001");
});

t.test(
  "three-factor ANOVA reproduces Montgomery Example 5.3 (bottling), ABC pooled into residual",
  async (t) => {
    const obs: Observation[] = BOTTLING.flatMap(([a, b, c, ys]) =>
      ys.map((y) => ({ levels: [a, b, c], y })),
    );
    const res = factorialAnova(["carbonation", "pressure", "speed"], obs);
    const close = (a: number, b: number, msg: string) =>
      t.ok(Math.abs(a - b) <= 0.001, `${msg}: ${a} ≈ ${b}`);
    close(row(res, "carbonation").ss, 252.75, "SS A");
    close(row(res, "pressure").ss, 45.375, "SS B");
    close(row(res, "speed").ss, 22.0417, "SS C");
    close(row(res, "carbonation×pressure").ss, 5.25, "SS AB");
    close(row(res, "carbonation×speed").ss, 0.5833, "SS AC");
    close(row(res, "pressure×speed").ss, 1.0417, "SS BC");
    close(row(res, "residual").ss, 1.0833 + 8.5, "SS residual = ABC + error");
    t.equal(row(res, "residual").df, 14, "residual df = 2 (ABC) + 12 (error)");
    t.equal(row(res, "total").df, 23, "total df");
    close(row(res, "carbonation").f, 252.75 / 2 / (9.5833 / 14), "F A against the pooled residual");
  },
);

t.test("an unbalanced grid is trimmed to the smallest replicate count and says so", async (t) => {
  const obs: Observation[] = [];
  for (const a of [1, 2])
    for (const b of [1, 2]) for (let r = 0; r < 3; r++) obs.push({ levels: [a, b], y: a + b + r });
  obs.push({ levels: [1, 1], y: 99 });
  const res = factorialAnova(["a", "b"], obs);
  if (!hasAnova(res)) throw new Error("expected a table");
  t.equal(res.replicates, 3, "three replicates kept per cell");
  t.equal(row(res, "total").df, 11, "12 observations used");
  t.match(
    res.notes.join(),
    /unbalanced replicates \(3–4\); trimmed to 3 per cell/,
    "note explains the trim",
  );
});

t.test("a missing grid cell or no finite response yields a reason, not a table", async (t) => {
  const res = factorialAnova(
    ["a", "b"],
    [
      { levels: [1, 1], y: 1 },
      { levels: [1, 2], y: 2 },
      { levels: [2, 1], y: 3 },
    ],
  );
  t.same(
    res,
    { rows: [], reason: "incomplete grid: 3 of 4 cells have observations" },
    "incomplete grid",
  );
  t.same(
    factorialAnova(["a"], [{ levels: [1], y: Number.NaN }]),
    {
      rows: [],
      reason: "no observations with a finite response",
    },
    "NaN responses dropped",
  );
});

t.test("a single-level factor is left out of the model", async (t) => {
  const obs: Observation[] = [];
  for (const a of [1, 2]) for (let r = 0; r < 2; r++) obs.push({ levels: [a, 5], y: a * 10 + r });
  const res = factorialAnova(["a", "b"], obs);
  if (!hasAnova(res)) throw new Error("expected a table");
  t.same(res.droppedFactors, ["b"], "b dropped");
  t.same(
    res.rows.map((r) => r.term),
    ["a", "residual", "total"],
    "one-way table",
  );
  t.equal(row(res, "a").ss, 100, "SS a = 4 × (5²) = 100");
});
