import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { computeCellStats } from "../../analysis/cells";
import { measuredRows, runFrame } from "../../analysis/frame";
import { outputPaths, writeOutputs } from "../../analysis/outputs";
import type { RunStats } from "../../analysis/runs";
import { writeSyntheticRun } from "../../analysis/synthetic";
import { pivotTable } from "../../analysis/tables";
import { computeUnits } from "../../analysis/units";
import type { Cell } from "../../core/cell";
import { DEFAULT_PRICING } from "../../core/pricing";

const CELLS: Cell[] = [
  { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 },
  { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 50 },
  { workload: "events", memoryMb: 1024, batchEvents: 1, reservedConcurrency: 0 },
  { workload: "batch", memoryMb: 1024, multipartMb: 8, reservedConcurrency: 0 },
];

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

t.test("one per-run danfojs frame; a cell has one mean, p95 and p99 everywhere", async (t) => {
  const dir = t.testdir();
  // A cold warm-up run per cell (trial 0, 1.3× slower): pooling it in gave a second p95.
  writeSyntheticRun(dir, {
    seed: 11,
    cells: CELLS,
    trials: 3,
    invocations: 30,
    concurrency: 10,
    backend: "aws",
    warmup: true,
  });
  const a = analyseRun(dir);
  t.equal(a.runs.length, 16, "4 cells × (warm-up + 3 trials)");
  t.same(a.frame.df.shape, [16, a.frame.df.columns.length], "one frame row per run");
  t.same(
    a.frame.df.column("run_id").values,
    a.runs.map((r) => r.runId),
    "frame rows in run order",
  );
  t.same(
    a.frame.df.column("measured").values,
    a.runs.map((r) => (r.trial === 0 ? 0 : 1)),
    "warm-up runs are rows flagged measured = 0",
  );

  const out = t.testdir();
  writeOutputs(a, outputPaths(out), out);
  const summary = readFileSync(join(out, "summary.txt"), "utf8");
  const p95Csv = readFileSync(join(out, "p95.csv"), "utf8").trim().split("\n");
  const head = (p95Csv[0] ?? "").split(",");
  for (const c of a.cells) {
    const measured = a.runs.filter((r) => r.cellId === c.cellId && r.trial > 0);
    const ok = measured.reduce((s, r) => s + r.ok, 0);
    const latency = measured.reduce((s, r) => s + r.meanMs * r.ok, 0);
    const p95 = mean(measured.map((r) => r.p95Ms));
    t.equal(c.runs, 3, `${c.cellId}: three measured runs`);
    t.ok(Math.abs(c.p95Mean - p95) < 1e-9, `${c.cellId}: p95 = mean of measured runs' p95`);
    t.ok(Math.abs(c.meanMs - latency / ok) < 1e-9, `${c.cellId}: mean = Σ latency ÷ Σ ok`);
    t.ok(
      Math.abs(c.p99Mean - mean(measured.map((r) => r.p99Ms))) < 1e-9,
      `${c.cellId}: p99 = mean of measured runs' p99`,
    );
    const row = summary.split("\n").find((l) => l.startsWith(`  ${c.functionName} `)) ?? "";
    t.match(
      row,
      new RegExp(
        ` ${c.meanMs.toFixed(1)} ms +${c.p95Mean.toFixed(1)} ms +${c.p99Mean.toFixed(1)} ms `,
      ),
      `${c.cellId}: the function table shows the cell's mean, p95 and p99`,
    );
    const csv = (p95Csv.find((l) => l.includes(`,${c.cellId},`)) ?? "").split(",");
    t.equal(
      Number(csv[head.indexOf("p95_mean_ms")]).toFixed(1),
      c.p95Mean.toFixed(1),
      `${c.cellId}: p95.csv has the same p95`,
    );
  }
  const events = a.recommendations.find((r) => r.workload === "events");
  const fastest = events?.fastest;
  t.ok(fastest !== undefined, "events has a fastest cell");
  t.match(
    summary,
    `lowest p95:        ${fastest?.cellId} (${fastest?.p95Mean.toFixed(1)} ms)`,
    "best cells quote the same p95",
  );

  // pivot.csv: mean p95 of the measured runs per (workload, memory) × size, over rc levels.
  const pivot = readFileSync(join(out, "pivot.csv"), "utf8").trim().split("\n");
  t.equal(pivot[0], "workload,memory_mb,1,8,10", "pivot columns: the union of size levels");
  const at = (w: string, m: number, s: number): RunStats[] =>
    a.runs.filter((r) => r.workload === w && r.memoryMb === m && r.size === s && r.trial > 0);
  const e512 = mean(at("events", 512, 10).map((r) => r.p95Ms));
  t.equal(at("events", 512, 10).length, 6, "two rc levels × three trials");
  const row512 = (pivot.find((l) => l.startsWith("events,512,")) ?? "").split(",");
  t.ok(Math.abs(Number(row512[4]) - e512) < 1e-6, "events 512 MB, 10 events: mean over 6 runs");
  t.equal(row512[2], "", "events 512 MB was not run with 1 event per object");
  t.equal(row512[3], "", "nor with 8 (a batch level)");
});

t.test("a frame without runs (every run's cell unknown) aggregates to nothing", async (t) => {
  const f = runFrame([], new Map());
  t.same(f.df.shape, [0, 0], "danfojs frame of no rows");
  t.equal(measuredRows(f), undefined, "no measured rows");
  t.same(computeCellStats(f, "arm64", DEFAULT_PRICING), [], "no cells");
  t.same(computeUnits([], f, 1000, 100).size, 0, "no units");
  t.same(pivotTable(f), { columns: ["workload", "memory_mb"], rows: [] }, "an empty pivot");
});
