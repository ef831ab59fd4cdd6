import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { analyseLoaded, analyseRun } from "../../analysis/analyze";
import { loadRun } from "../../analysis/load-run";
import { outputPaths, writeOutputs } from "../../analysis/outputs";
import { writeSyntheticRun } from "../../analysis/synthetic";
import { rcTreatment } from "../../analysis/treatments";
import { parseMatrix } from "../../core/matrix";

t.test("warm-up runs feed the cold-start outcome and stay out of warm statistics", async (t) => {
  const dir = t.testdir();
  const cells = parseMatrix("workload=events,memory=512|2048,batch=1|100,rc=0");
  writeSyntheticRun(dir, {
    seed: 3,
    cells,
    trials: 3,
    invocations: 20,
    concurrency: 4,
    warmup: true,
    throttleRate: 0,
    errorRate: 0,
    backend: "aws",
  });
  const a = analyseRun(dir);
  t.equal(a.runs.length, 4 * 4, "results keep every run, warm-up included");
  for (const c of a.cells) {
    t.equal(c.runs, 3, `${c.cellId}: cells use the 3 measured trials only`);
    const u = a.units.get(c.cellId);
    t.equal(u?.cold.warmupColdStarts, 4, `${c.cellId}: the warm-up took one cold start per slot`);
    t.equal(u?.cold.measuredColdRate, 0, `${c.cellId}: no cold start left in measured trials`);
    t.equal(u?.cold.initMedianMs, 180.25, `${c.cellId}: INIT from REPORT`);
    t.equal(u?.warmRuns, 3, `${c.cellId}: three warm per-run p95s`);
    t.ok(Number.isFinite(u?.warmP95.precision ?? Number.NaN), `${c.cellId}: achieved precision`);
  }
});

t.test(
  "the events pick is made per event and its $ per 1M events is in summary, report and recommendation.json",
  async (t) => {
    const dir = t.testdir();
    writeSyntheticRun(dir, {
      seed: 5,
      cells: parseMatrix("workload=events,rc=0"),
      trials: 3,
      invocations: 20,
      throttleRate: 0,
      errorRate: 0,
      warmup: true,
      concurrency: 5,
    });
    const a = analyseRun(dir, { strategy: "cost" });
    writeOutputs(a, outputPaths(dir), dir);
    const rec = JSON.parse(readFileSync(join(dir, "recommendation.json"), "utf8"));
    const w = rec.workloads[0];
    t.equal(w.workload, "events", "events answered");
    t.equal(w.strategy, "cost", "strategy recorded");
    t.match(w.basis, /per-event latency = warm p95 .* \(B − 1\) \/ 1000 events\/s/, "basis stated");
    t.equal(w.pick.cost_unit, "1M events", "cost per event, not per invocation");
    const cheapest = Math.min(
      ...w.best_set.map((c: { cost_usd_per_unit: number }) => c.cost_usd_per_unit),
    );
    t.equal(
      w.pick.cost_usd_per_unit,
      cheapest,
      "cost strategy: the cheapest per event in the best set",
    );
    t.equal(
      w.pick.batch_wait_ms,
      ((w.pick.size_factor - 1) / 1000) * 1000,
      "per-event latency adds (B − 1) / R to fill the batch",
    );
    t.equal(
      w.pick.unit_latency_ms > w.pick.warm_p95_ms || w.pick.size_factor === 1,
      true,
      "unit latency includes the wait",
    );
    const price = `$${Number(w.pick.cost_usd_per_unit).toPrecision(3)} per 1M events`;
    t.match(w.one_line, price, "one line carries $ per 1M events");
    t.ok(readFileSync(join(dir, "summary.txt"), "utf8").includes(price), "summary carries it");
    t.ok(readFileSync(join(dir, "report.html"), "utf8").includes(price), "report carries it");
    const speed = analyseRun(dir, { strategy: "speed" }).picks[0];
    const fastest = Math.min(...(speed?.members ?? []).map((m) => m.unitLatency.estimate));
    t.equal(speed?.pick?.unitLatency.estimate, fastest, "speed strategy: fastest per event");
  },
);

t.test(
  "A/A: 60 synthetic full batch matrices with no true effect claim a significant difference in ≤ 5%",
  async (t) => {
    let claims = 0;
    let pairs = 0;
    let pairsDifferent = 0;
    const sims = 60;
    const root = t.testdir();
    for (let s = 0; s < sims; s++) {
      const dir = join(root, String(s));
      writeSyntheticRun(dir, {
        seed: 100 + s,
        cells: parseMatrix("workload=batch"),
        trials: 3,
        invocations: 10,
        throttleRate: 0,
        errorRate: 0,
        warmup: true,
        concurrency: 4,
        medianMs: () => 2000,
        trialEffectSd: 0.1,
      });
      const a = analyseLoaded(loadRun(dir));
      if (a.picks.some((p) => p.separated)) claims++;
      for (const p of a.picks) {
        const rc = rcTreatment(a, p);
        pairs += rc.pairs.compared;
        pairsDifferent += rc.pairs.different;
      }
    }
    t.ok(claims / sims <= 0.05, `${claims} of ${sims} runs claimed a difference`);
    t.equal(
      pairs,
      sims * 9 * 3,
      "at C = 4 no level binds: rc 0/10/50 compared pairwise in each of the 9 other-factor combinations",
    );
    t.ok(
      pairsDifferent / pairs <= 0.05,
      `same-treatment pairs reported different in ${pairsDifferent} of ${pairs} pairs`,
    );
  },
);
