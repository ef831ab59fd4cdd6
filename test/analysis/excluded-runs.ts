import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { outputPaths, writeOutputs } from "../../analysis/outputs";
import { renderReport } from "../../analysis/report-html";
import { renderSummary } from "../../analysis/summary";
import { type Cell, cellId, type EventsCell } from "../../core/cell";
import { type EmfRecord, serializeEmfLine } from "../../core/emf";
import { functionName } from "../../core/names";
import {
  type InvocationRecord,
  type JournalEntry,
  type Manifest,
  RUN_FILES,
} from "../../core/run-files";

const A: EventsCell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 };
const B: EventsCell = { ...A, batchEvents: 10 };
const C: EventsCell = { ...A, reservedConcurrency: 10 };
const D: EventsCell = { ...A, batchEvents: 100 };

/** One run as the loop would have left it: its invocations, and the records harvested. */
interface RunSpec {
  readonly runId: string;
  readonly cell: EventsCell;
  readonly trial: number;
  readonly invocations: number;
  readonly throttled: number;
  /** Records written to records.jsonl (the first non-throttled invocations). */
  readonly records: number;
  /** Latency of the first record; the next ones add 1 ms each. */
  readonly latencyMs: number;
}

function emf(r: RunSpec, seq: number): EmfRecord {
  const start = 1_800_000_000_000 + seq * 10;
  const latency = r.latencyMs + seq;
  return {
    ts_start_ms: start,
    ts_end_ms: start + latency,
    latency_ms: latency,
    workload: "events",
    run_id: r.runId,
    function_name: functionName(r.cell),
    region: "us-east-1",
    memory_mb: r.cell.memoryMb,
    reserved_concurrency: r.cell.reservedConcurrency,
    events_generated: r.cell.batchEvents,
    object_bytes: r.cell.batchEvents * 1024,
    multipart_part_mb: 0,
    multipart_parts: 0,
    s3_bucket: "bucket",
    s3_key: `events/${r.runId}/${seq}.jsonl`,
    schema_version: 1,
    request_id: `${r.runId}-req-${seq}`,
    cold_start: seq === 0,
    ok: true,
    batch_events: r.cell.batchEvents,
    event_bytes: 1024,
    object_mb: 0,
  };
}

function invocation(r: RunSpec, seq: number): InvocationRecord {
  const throttled = seq >= r.invocations - r.throttled;
  return {
    run_id: r.runId,
    cell_id: cellId(r.cell),
    function_name: functionName(r.cell),
    workload: "events",
    trial: r.trial,
    seq,
    ...(throttled ? {} : { request_id: `${r.runId}-req-${seq}` }),
    client_start_ms: 1_800_000_000_000 + seq * 10,
    client_end_ms: 1_800_000_000_000 + seq * 10 + r.latencyMs + seq + 2,
    status_code: throttled ? 429 : 200,
    throttled,
  };
}

const RUNS = {
  // Cell A, first attempt: killed after trial 1 was harvested and during trial 2; --resume
  // discarded both runs. a1's records reached records.jsonl; their 1 ms latency must not count.
  a1: {
    runId: "run_a1",
    cell: A,
    trial: 1,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 1,
  },
  a2: {
    runId: "run_a2",
    cell: A,
    trial: 2,
    invocations: 2,
    throttled: 0,
    records: 0,
    latencyMs: 1,
  },
  // Cell A redone by --resume.
  a3: {
    runId: "run_a3",
    cell: A,
    trial: 1,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 100,
  },
  a4: {
    runId: "run_a4",
    cell: A,
    trial: 2,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 100,
  },
  // Cell B: done, slower than nothing but the excluded cells below.
  b1: {
    runId: "run_b1",
    cell: B,
    trial: 1,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 50,
  },
  b2: {
    runId: "run_b2",
    cell: B,
    trial: 2,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 50,
  },
  // Cell C: done but half its invocations throttled; its fast p95 must not win.
  c1: {
    runId: "run_c1",
    cell: C,
    trial: 1,
    invocations: 4,
    throttled: 2,
    records: 2,
    latencyMs: 10,
  },
  c2: {
    runId: "run_c2",
    cell: C,
    trial: 2,
    invocations: 4,
    throttled: 2,
    records: 2,
    latencyMs: 10,
  },
  // Cell D: failed without being redone: d1 harvested, d2 sent but never harvested.
  d1: {
    runId: "run_d1",
    cell: D,
    trial: 1,
    invocations: 4,
    throttled: 0,
    records: 4,
    latencyMs: 5,
  },
  d2: {
    runId: "run_d2",
    cell: D,
    trial: 2,
    invocations: 4,
    throttled: 0,
    records: 0,
    latencyMs: 5,
  },
} satisfies Record<string, RunSpec>;

/** Writes a run directory (manifest, journal, invocations, records) from the contracts. */
function writeRunDir(dir: string): void {
  const cells: Cell[] = [A, B, C, D];
  const manifest: Manifest = {
    schema_version: 1,
    tool_version: "test",
    created_at: "2026-11-23T00:00:00.000Z",
    backend: "local",
    region: "us-east-1",
    architecture: "arm64",
    matrix: "workload=events,memory=512",
    cells: cells.map((c) => ({ cell_id: cellId(c), cell: c, function_name: functionName(c) })),
    order_seed: 1,
    cell_order: cells.map(cellId),
    invocations: { events: 4, batch: 1 },
    trials: 2,
    concurrency: { events: 4, batch: 7 },
    parallel: 1,
    object_mb: 100,
    event_bytes: 1024,
    name_prefix: "",
    versions: { node: "22" },
    local: {
      cpu_scaling_emulated: false,
      account_concurrency: 100,
      notes: ["S3 is the embedded local server on loopback"],
    },
  };
  writeFileSync(join(dir, RUN_FILES.manifest), JSON.stringify(manifest));
  const ts = "2026-11-23T00:00:00.000Z";
  const j = (cell: Cell, phase: JournalEntry["phase"], extra: Partial<JournalEntry> = {}) =>
    JSON.stringify({ ts, cell_id: cellId(cell), phase, ...extra } satisfies JournalEntry);
  const trial = (r: RunSpec, harvested: boolean): string[] => [
    j(r.cell, "trial-start", { run_id: r.runId, trial: r.trial }),
    j(r.cell, "trial-done", { run_id: r.runId, trial: r.trial }),
    ...(harvested ? [j(r.cell, "harvested", { run_id: r.runId, trial: r.trial })] : []),
  ];
  const done = (cell: Cell, runs: RunSpec[]): string[] => [
    j(cell, "deploying"),
    j(cell, "deployed"),
    ...runs.flatMap((r) => trial(r, true)),
    j(cell, "destroying"),
    j(cell, "destroyed"),
    j(cell, "done"),
  ];
  const journal = [
    j(A, "deploying"),
    j(A, "deployed"),
    ...trial(RUNS.a1, true),
    j(A, "trial-start", { run_id: RUNS.a2.runId, trial: 2 }),
    j(D, "deploying"),
    j(D, "deployed"),
    ...trial(RUNS.d1, true),
    ...trial(RUNS.d2, false),
    j(D, "destroying"),
    j(D, "destroyed"),
    j(D, "failed", { detail: { error: "harvest timed out" } }),
    ...done(B, [RUNS.b1, RUNS.b2]),
    ...done(C, [RUNS.c1, RUNS.c2]),
    // --resume: A was unfinished.
    j(A, "failed", {
      detail: {
        error: "unfinished attempt discarded by --resume",
        discarded_run_ids: [RUNS.a1.runId, RUNS.a2.runId],
      },
    }),
    ...done(A, [RUNS.a3, RUNS.a4]),
  ];
  writeFileSync(join(dir, RUN_FILES.journal), `${journal.join("\n")}\n`);
  const all: RunSpec[] = Object.values(RUNS);
  const inv = all.flatMap((r) =>
    Array.from({ length: r.invocations }, (_, s) => JSON.stringify(invocation(r, s))),
  );
  writeFileSync(join(dir, RUN_FILES.invocations), `${inv.join("\n")}\n`);
  const rec = all.flatMap((r) =>
    Array.from({ length: r.records }, (_, s) => serializeEmfLine(emf(r, s))),
  );
  writeFileSync(join(dir, RUN_FILES.records), rec.join(""));
}

t.test("runs discarded by --resume are left out of every statistic and counted", async (t) => {
  const dir = t.testdir();
  writeRunDir(dir);
  const a = analyseRun(dir);
  t.same(
    a.runs.map((r) => r.runId).sort(),
    ["run_a3", "run_a4", "run_b1", "run_b2", "run_c1", "run_c2", "run_d1"],
    "kept runs: the redone A, B, C and D's harvested run",
  );
  t.same(
    a.excluded.map((x) => [x.runId, x.kind, x.invocations, x.records, x.trial]),
    [
      ["run_a1", "discarded", 4, 4, 1],
      ["run_a2", "discarded", 2, 0, 2],
      ["run_d2", "not-harvested", 4, 0, 2],
    ],
    "left-out runs with the lines skipped for each",
  );
  const cellA = a.cells.find((c) => c.cellId === cellId(A));
  t.equal(cellA?.invocations, 8, "A counts only the redone attempt's 8 invocations");
  t.equal(cellA?.records, 8, "A counts only the redone attempt's 8 records");
  t.equal(cellA?.meanMs, 101.5, "A's mean latency is 100..103 ms, not the 1 ms");
  const sum = (f: (c: (typeof a.cells)[number]) => number): number =>
    a.cells.reduce((s, c) => s + f(c), 0);
  t.equal(
    sum((c) => c.invocations),
    28,
    "28 of the 38 invocation lines count",
  );
  t.equal(
    sum((c) => c.throttles),
    4,
    "4 throttles (cell C)",
  );
  t.equal(
    sum((c) => c.records),
    24,
    "24 of the 28 record lines count",
  );
  t.equal(
    sum((c) => c.missing),
    0,
    "no record is missing: the unharvested run is left out",
  );
  t.equal(a.skipped.recordsForeign, 0, "discarded records are not counted as foreign");
  t.equal(a.skipped.recordsDuplicate, 0, "no duplicate");
  t.equal(a.runs.length, 7, "results.csv and the ANOVA get 7 runs");
});

t.test(
  "a cell that failed keeps its harvested runs, is flagged and never recommended",
  async (t) => {
    const dir = t.testdir();
    writeRunDir(dir);
    const a = analyseRun(dir);
    t.same(
      a.outcomes.get(cellId(D)),
      { status: "failed", error: "harvest timed out", keptRuns: 1 },
      "D failed with its error, one run kept",
    );
    t.same(
      a.outcomes.get(cellId(A)),
      { status: "done", keptRuns: 2 },
      "A ended done after the redo",
    );
    const r = a.recommendations[0];
    t.equal(r?.fastest?.cellId, cellId(B), "fastest eligible cell is B (C throttled, D failed)");
    t.same(
      r?.ineligible.map((x) => [x.cell.cellId, x.reason]),
      [
        [cellId(C), "50% of invocations throttled"],
        [cellId(D), "cell failed (harvest timed out)"],
      ],
      "C and D are not considered, with why",
    );
    t.same(
      r?.pareto.map((c) => c.cellId).includes(cellId(C)),
      false,
      "the throttled cell is not on the Pareto front",
    );
  },
);

t.test("summary.txt and report.html say what was left out and why", async (t) => {
  const dir = t.testdir();
  writeRunDir(dir);
  const a = analyseRun(dir);
  const s = renderSummary(a);
  t.match(
    s,
    "  Discarded by --resume:  2 runs (6 invocations, 4 records skipped)",
    "summary counts discarded runs and their lines",
  );
  t.match(
    s,
    "  Never harvested:        1 runs (4 invocations, 0 records skipped)",
    "summary counts the never-harvested run",
  );
  t.match(
    s,
    "    run_d2 events-512mb-b100-rc0 trial 2: not-harvested, cell failed: harvest timed out",
    "summary lists the run and the reason",
  );
  t.match(
    s,
    "    events-512mb-b100-rc0: failed (harvest timed out), 1 of 2 runs kept",
    "summary flags the failed cell",
  );
  t.match(s, "      events-512mb-b1-rc10: 50% of invocations throttled", "throttled cell listed");
  t.match(s, "  Total invocations:      28\n", "totals exclude the left-out runs");
  const html = renderReport(a);
  t.match(html, /<b>2<\/b> discarded by <code>--resume<\/code>/, "report counts discarded runs");
  t.match(html, /<b>1<\/b> never harvested/, "report counts never-harvested runs");
  t.match(html, "failed: harvest timed out", "completeness table flags the failed cell");
  t.match(
    html,
    "Not considered: 2 cells (1 throttled &gt; 5%, 1 cell failed or unfinished)",
    "headline",
  );
  t.match(
    html,
    "<li>events: offered concurrency 4.00 (closed loop, C = 4);",
    "the events workload's own C",
  );
  t.match(html, "S3 is the embedded local server on loopback", "local notes from the manifest");
  t.match(html, "CPU scaling with memory is <b>not</b> emulated", "CPU caveat from the manifest");
});

t.test("p95.csv carries each cell's journal status and why it is not recommended", async (t) => {
  const dir = t.testdir();
  writeRunDir(dir);
  const out = join(dir, "out");
  writeOutputs(analyseRun(dir), outputPaths(out), out);
  const rows = readFileSync(join(out, "p95.csv"), "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(","));
  const at = (rows[0] ?? []).indexOf("cell_status");
  const tail = rows.map((r) => [r[4], r[at], r[at + 1]]);
  t.same(
    tail,
    [
      ["cell_id", "cell_status", "not_recommended_because"],
      [cellId(A), "done", ""],
      [cellId(C), "done", "50% of invocations throttled"],
      [cellId(B), "done", ""],
      [cellId(D), "failed", "cell failed (harvest timed out)"],
    ],
    "status and reason per cell",
  );
});

t.test("a run is named after the function of the deploy attempt it was made in", async (t) => {
  const dir = t.testdir();
  writeRunDir(dir);
  // The redo of A by --resume was its second deploy attempt: `deployed` records its name.
  const file = join(dir, RUN_FILES.journal);
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  const redo = lines.findLastIndex((l) =>
    l.includes(`"cell_id":"${cellId(A)}","phase":"deployed"`),
  );
  const second = `${functionName(A)}-2`;
  lines[redo] = JSON.stringify({
    ts: "2026-11-23T00:00:00.000Z",
    cell_id: cellId(A),
    phase: "deployed",
    detail: { function_name: second, log_group: `/aws/lambda/${second}` },
  });
  writeFileSync(file, `${lines.join("\n")}\n`);
  const a = analyseRun(dir);
  const names = Object.fromEntries(a.runs.map((r) => [r.runId, r.functionName]));
  t.equal(names.run_a3, second, "trial 1 of the redo: the second attempt's function");
  t.equal(names.run_a4, second, "trial 2 of the redo too");
  t.equal(names.run_b1, functionName(B), "a cell deployed once keeps the manifest's name");
});
