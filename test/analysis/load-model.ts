import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { loadModelOf, throttleBasis } from "../../analysis/load-model";
import { writeSyntheticRun } from "../../analysis/synthetic";
import { rcTreatment } from "../../analysis/treatments";
import { parseMatrix } from "../../core/matrix";

t.test("an old manifest without load is the closed loop at its concurrency", async (t) => {
  const dir = t.testdir();
  const { manifest } = writeSyntheticRun(dir, {
    seed: 1,
    cells: parseMatrix("workload=events,memory=512,batch=1"),
    trials: 2,
    invocations: 5,
  });
  t.same(
    loadModelOf(manifest),
    { model: "closed", concurrency: { events: 20, batch: 20 } },
    "closed, C = 20",
  );
  t.match(throttleBasis(loadModelOf(manifest)), /^closed loop at concurrency 20: /, "one C");
  t.match(
    throttleBasis({ model: "closed", concurrency: { events: 1, batch: 20 } }),
    /^closed loop at concurrency events=1,batch=20: /,
    "per workload",
  );
  t.match(
    throttleBasis(loadModelOf(manifest)),
    /depends on the invocation budget per run/,
    "budget dependence stated",
  );
});

t.test(
  "an open-loop manifest: offered concurrency = arrival rate × mean service time",
  async (t) => {
    const dir = t.testdir();
    writeSyntheticRun(dir, {
      seed: 2,
      cells: parseMatrix("workload=events,memory=512,batch=1"),
      trials: 2,
      invocations: 10,
      throttleRate: 0,
      medianMs: () => 100,
    });
    const file = join(dir, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(
      file,
      JSON.stringify({ ...m, load: { model: "open", arrival_rate_per_s: 50, duration_s: 60 } }),
    );
    const a = analyseRun(dir);
    t.same(
      a.load,
      { model: "open", arrivalRatePerS: 50, durationS: 60 },
      "load read from the manifest",
    );
    const p = a.picks[0];
    t.ok(p !== undefined, "events answered");
    if (p === undefined) return;
    const rc = rcTreatment(a, p);
    t.ok(
      Math.abs(rc.offered - (50 * rc.meanServiceMs) / 1000) < 1e-9,
      `offered ${rc.offered} = 50/s × ${rc.meanServiceMs} ms`,
    );
    t.ok(rc.offered > 3 && rc.offered < 10, "about 5 in flight at 100 ms");
    t.same(rc.same, [0, 10, 50], "at about 5 in flight no reserved level binds");
    t.match(throttleBasis(a.load), /arrival rate × mean service time/, "throttle basis stated");
  },
);
