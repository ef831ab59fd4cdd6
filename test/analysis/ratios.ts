import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { writeSyntheticRun } from "../../analysis/synthetic";
import { parseMatrix } from "../../core/matrix";

t.test(
  "effect ratios and their CIs match statsmodels' sum-coded OLS with trial as block",
  async (t) => {
    const dir = t.testdir();
    writeSyntheticRun(dir, {
      seed: 21,
      cells: parseMatrix("workload=events,memory=512|2048,rc=0|50"),
      trials: 3,
      invocations: 20,
      warmup: true,
      concurrency: 4,
      throttleRate: 0,
      trialEffectSd: 0.1,
    });
    const a = analyseRun(dir);
    // /usr/bin/python3, results.csv (trial > 0), y = ln warm_p95_ms:
    // ols('y ~ (C(memory_mb, Sum) + C(batch_or_multipart, Sum) + C(reserved_concurrency, Sum))**2
    //      + C(trial, Sum)'); exp(coef) and exp(conf_int()).
    const expected: [string, number, number, number, number][] = [
      ["memory_mb", 512, 1.3345298479499492, 1.29218281, 1.37826467],
      ["batch_events", 1, 0.7904284786880349, 0.75519214, 0.8273089],
      ["batch_events", 10, 0.8389645918640275, 0.80156457, 0.87810965],
      ["reserved_concurrency", 0, 0.9650757774706086, 0.93445218, 0.99670296],
    ];
    for (const [factor, level, ratio, low, high] of expected) {
      const l = a.effectRatios
        .find((e) => e.workload === "events" && e.factor === factor)
        ?.levels.find((x) => x.level === level);
      t.ok(l !== undefined, `${factor} ${level} present`);
      if (l === undefined) continue;
      t.ok(Math.abs(l.ratio / ratio - 1) < 1e-9, `${factor} ${level}: ratio ${l.ratio}`);
      t.ok(Math.abs(l.low / low - 1) < 1e-7, `${factor} ${level}: low ${l.low}`);
      t.ok(Math.abs(l.high / high - 1) < 1e-7, `${factor} ${level}: high ${l.high}`);
    }
    const mem = a.effectRatios.find((e) => e.factor === "memory_mb");
    t.ok((mem?.pHolm ?? 1) < 0.05, "memory's effect is significant after Holm");
  },
);
