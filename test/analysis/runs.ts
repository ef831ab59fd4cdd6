import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { analyseRun } from "../../analysis/analyze";
import { billingLines } from "../../analysis/billing-lines";
import { PLATFORM_LOG_BYTES } from "../../analysis/cost";
import { loadRun } from "../../analysis/load-run";
import { renderReport } from "../../analysis/report-html";
import { computeRunStats } from "../../analysis/runs";
import type { Cell } from "../../core/cell";
import { type EmfRecord, serializeEmfLine } from "../../core/emf";
import { DEFAULT_PRICING } from "../../core/pricing";
import type { InvocationRecord, Manifest } from "../../core/run-files";
import { sameForAll } from "../../core/workloads";

const RUN = "run_1767225600000_abc123";
const CELL: Cell = { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 };
const CELL_ID = "events-512mb-b10-rc0";
const FN = "s3-experiment-events-512mb-b10-rc0";

const manifest: Manifest = {
  schema_version: 1,
  tool_version: "test",
  created_at: "2026-11-23T00:00:00.000Z",
  backend: "aws",
  region: "us-east-1",
  architecture: "arm64",
  matrix: "all",
  cells: [{ cell_id: CELL_ID, cell: CELL, function_name: FN }],
  order_seed: 1,
  cell_order: [CELL_ID],
  invocations: { events: 4, batch: 0 },
  trials: 1,
  concurrency: sameForAll(20),
  parallel: 1,
  object_mb: 100,
  event_bytes: 1024,
  name_prefix: "",
  versions: {},
};

function record(
  requestId: string,
  start: number,
  latency: number,
  cold: boolean,
  runId = RUN,
): EmfRecord {
  return {
    ts_start_ms: start,
    ts_end_ms: start + Math.round(latency),
    latency_ms: latency,
    workload: "events",
    run_id: runId,
    function_name: FN,
    region: "us-east-1",
    memory_mb: 512,
    reserved_concurrency: 0,
    events_generated: 10,
    object_bytes: 10240,
    multipart_part_mb: 0,
    multipart_parts: 0,
    s3_bucket: "b",
    s3_key: `events/512mb/${runId}/${start}-${requestId}.jsonl`,
    schema_version: 1,
    request_id: requestId,
    cold_start: cold,
    ok: true,
    batch_events: 10,
    event_bytes: 1024,
    object_mb: 0,
  };
}

const base = {
  run_id: RUN,
  cell_id: CELL_ID,
  function_name: FN,
  workload: "events" as const,
  trial: 1,
};
const invocations: InvocationRecord[] = [
  {
    ...base,
    seq: 0,
    request_id: "r1",
    client_start_ms: 999,
    client_end_ms: 1101,
    status_code: 200,
    throttled: false,
    report: {
      duration_ms: 100.5,
      billed_duration_ms: 101,
      memory_size_mb: 512,
      max_memory_used_mb: 80,
      init_duration_ms: 150.2,
    },
  },
  {
    ...base,
    seq: 1,
    request_id: "r2",
    client_start_ms: 1049,
    client_end_ms: 1251,
    status_code: 200,
    throttled: false,
  },
  {
    ...base,
    seq: 2,
    client_start_ms: 1060,
    client_end_ms: 1063,
    status_code: 429,
    throttled: true,
    throttle_reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
  },
  {
    ...base,
    seq: 3,
    client_start_ms: 1070,
    client_end_ms: 2070,
    status_code: 0,
    throttled: false,
    error: "socket hang up",
  },
];

function writeRun(dir: string): { r1: string; r2: string } {
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  writeFileSync(
    join(dir, "invocations.jsonl"),
    `${invocations.map((i) => JSON.stringify(i)).join("\n")}\n{broken\n`,
  );
  const r1 = serializeEmfLine(record("r1", 1000, 100, true));
  const r2 = serializeEmfLine(record("r2", 1050, 200.4, false));
  const foreign = serializeEmfLine(record("r9", 1000, 50, false, "run_1767225699999_zzzzzz"));
  const wrongSchema = JSON.stringify({ ...record("r8", 1, 1, false), schema_version: 2 });
  writeFileSync(
    join(dir, "records.jsonl"),
    [
      r1,
      r2,
      r2,
      foreign,
      "{not json\n",
      `${wrongSchema}\n`,
      "START RequestId: r1 Version: $LATEST\n",
      "\n",
    ].join(""),
  );
  return { r1, r2 };
}

t.test("platform log estimates have the byte counts of Lambda's JSON system records", async (t) => {
  // platform.start 141 + newline; platform.runtimeDone 179 + 1; platform.report 240 + 1;
  // a cold start adds platform.initStart (236 + 1) and ',"initDurationMs":150' (21).
  t.same(
    PLATFORM_LOG_BYTES,
    { start: 142, end: 180, report: 241, init: 258 },
    "platform.start / runtimeDone / report / cold-start bytes",
  );
});

t.test("malformed, foreign and duplicate record lines are skipped and counted", async (t) => {
  const dir = t.testdir();
  writeRun(dir);
  const loaded = loadRun(dir);
  t.same(
    loaded.skipped,
    {
      recordsMalformed: 3,
      recordsForeign: 1,
      recordsDuplicate: 1,
      recordsOutOfBounds: 0,
      invocationsMalformed: 1,
      invocationsDuplicate: 0,
      invocationsOutOfBounds: 0,
      outOfBoundsReasons: {},
      journalMalformed: 0,
    },
    "bad JSON, wrong schema and a START line are malformed; blank lines ignored",
  );
  t.equal(loaded.records.length, 2, "two distinct records kept");
});

t.test("a run's statistics and cost match hand-computed values", async (t) => {
  const dir = t.testdir();
  const { r1, r2 } = writeRun(dir);
  const { runs } = computeRunStats(loadRun(dir), DEFAULT_PRICING);
  t.equal(runs.length, 1, "one run");
  const r = runs[0];
  if (r === undefined) throw new Error("no run");
  t.equal(r.invocations, 4, "four invocations");
  t.equal(r.throttles, 1, "one throttle");
  t.equal(r.expected, 2, "records expected: not throttled and got a response");
  t.equal(r.records, 2, "records found");
  t.equal(r.missing, 0, "none missing");
  t.equal(r.ok, 2, "two successes");
  t.equal(r.errors, 1, "the invocation without a response is an error");
  t.equal(r.coldStarts, 1, "one cold start");
  t.equal(r.p95Ms, 100 + 0.95 * 100.4, "p95 of [100, 200.4]");
  t.equal(r.windowMs, 250, "window = max(ts_end) 1250 − min(ts_start) 1000");
  t.equal(r.throughputObjPerS, 8, "2 objects / 0.25 s");
  t.equal(r.bytesSum, 20480, "bytes summed");
  t.equal(r.mbPerS, 20480 / 1048576 / 0.25, "MiB per second");
  t.equal(
    r.billedMs,
    101 + 201,
    "REPORT's Billed Duration 101 for r1 as reported (never + INIT again); ceil(200.4) for r2",
  );
  t.equal(r.reportBilledMs, 101, "Σ REPORT Billed Duration");
  t.equal(r.initMs, 150.2, "INIT as reported, its own column");
  t.equal(r.reportedInvocations, 1, "one invocation with REPORT data");
  t.equal(r.billedFromLatency, 1, "r2 had no REPORT: billed from its latency, counted");
  t.equal(r.s3PutRequests, 2, "one PUT per events object");
  const logBytes = Buffer.byteLength(r1) + Buffer.byteLength(r2) + 2 * (142 + 180 + 241) + 258;
  t.equal(r.logBytes, logBytes, "EMF lines (with newline) + platform lines + one Init");
  const compute = 0.302 * 0.5 * 0.0000133334;
  const expected = compute + 2 * 0.0000002 + 2 * 0.000005 + (logBytes / 1024 ** 3) * 0.5;
  t.ok(Math.abs(r.cost.lambdaCompute - compute) < 1e-15, `compute cost ${r.cost.lambdaCompute}`);
  t.ok(Math.abs(r.cost.total - expected) < 1e-15, `total ${r.cost.total} ≈ ${expected}`);
});

t.test("a run with a single successful record uses its latency as the window", async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, backend: "local" }));
  writeFileSync(join(dir, "records.jsonl"), serializeEmfLine(record("r1", 5000, 400, false)));
  const { runs } = computeRunStats(loadRun(dir), DEFAULT_PRICING);
  t.equal(runs[0]?.windowMs, 400, "window = latency");
  t.equal(runs[0]?.throughputObjPerS, 2.5, "1 / 0.4 s");
  t.equal(runs[0]?.invocations, 1, "without invocations.jsonl each record is an invocation");
  t.equal(runs[0]?.billedMs, 400, "local: ceil(latency)");
});

t.test("missing or empty run directories are named bad input", async (t) => {
  const dir = t.testdir({
    empty: {},
    nomanifest: { "records.jsonl": "x\n" },
    nodata: { "manifest.json": JSON.stringify(manifest) },
  });
  t.throws(
    () => loadRun(join(dir, "nope")),
    {
      name: "InvalidInputError",
      message: /^run directory=".*nope" is invalid: allowed an existing run directory/,
    },
    "missing",
  );
  t.throws(
    () => loadRun(join(dir, "nomanifest")),
    { name: "InvalidInputError", message: /allowed a run directory containing manifest.json$/ },
    "no manifest",
  );
  t.throws(
    () => loadRun(join(dir, "nodata")),
    {
      name: "InvalidInputError",
      message: /invocations.jsonl and records.jsonl are both missing or empty/,
    },
    "no data",
  );
  writeFileSync(
    join(dir, "nodata", "manifest.json"),
    JSON.stringify({ ...manifest, architecture: "sparc" }),
  );
  t.throws(
    () => loadRun(join(dir, "nodata")),
    {
      name: "InvalidInputError",
      message: /architecture="sparc" is invalid: allowed one of arm64, x86_64$/,
    },
    "bad architecture",
  );
});

t.test(
  "duplicated lines count once and values outside physical bounds are skipped with a reason",
  async (t) => {
    const dir = t.testdir();
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    const good = invocations.slice(0, 2);
    const noId = {
      ...base,
      seq: 7,
      client_start_ms: 1080,
      client_end_ms: 1090,
      status_code: 200,
      throttled: false,
    };
    const backwards = {
      ...base,
      seq: 8,
      request_id: "r8",
      client_start_ms: 2000,
      client_end_ms: 1000,
      status_code: 200,
      throttled: false,
    };
    writeFileSync(
      join(dir, "invocations.jsonl"),
      [...good, ...good, noId, noId, backwards].map((i) => `${JSON.stringify(i)}\n`).join(""),
    );
    const r1 = serializeEmfLine(record("r1", 1000, 100, true));
    const r2 = serializeEmfLine(record("r2", 1050, 200.4, false));
    const anonymous = serializeEmfLine({ ...record("", 1080, 9, false), s3_key: "events/k" });
    const huge = serializeEmfLine(record("r5", 1100, 1e308, false));
    const negative = serializeEmfLine({ ...record("r6", 1100, 5, false), object_bytes: -1 });
    writeFileSync(
      join(dir, "records.jsonl"),
      [r1, r2, r1, r2, anonymous, anonymous, huge, negative].join(""),
    );
    const loaded = loadRun(dir);
    t.same(
      loaded.skipped,
      {
        recordsMalformed: 0,
        recordsForeign: 0,
        recordsDuplicate: 3,
        recordsOutOfBounds: 2,
        invocationsMalformed: 0,
        invocationsDuplicate: 3,
        invocationsOutOfBounds: 1,
        journalMalformed: 0,
        outOfBoundsReasons: {
          "records.jsonl: latency_ms outside 0–900000": 1,
          "records.jsonl: object_bytes outside 0–5 TiB": 1,
          "invocations.jsonl: client_end_ms before client_start_ms": 1,
        },
      },
      "two duplicated request ids, a duplicated record without one (same run, start, key), a repeated invocation without a request id; 1e308 ms, −1 bytes and a backwards invocation",
    );
    const { runs } = computeRunStats(loaded, DEFAULT_PRICING);
    const r = runs[0];
    t.equal(r?.invocations, 3, "3 distinct invocations (not 5)");
    t.equal(r?.expected, 3, "3 expected records");
    t.equal(r?.records, 3, "3 distinct records in bounds (100 % found, not 200 %)");
    t.equal(r?.meanMs, (100 + 200.4 + 9) / 3, "the mean is not moved by the 1e308 ms line");
  },
);

t.test(
  "an invocation that reached the function with neither REPORT data nor a record is counted as billed 0 ms",
  async (t) => {
    const dir = t.testdir();
    writeRun(dir);
    // r3 reached the function (200), its tail had no REPORT, and its record was never found.
    const r3: InvocationRecord = {
      ...base,
      seq: 4,
      request_id: "r3",
      client_start_ms: 1100,
      client_end_ms: 1300,
      status_code: 200,
      throttled: false,
    };
    appendFileSync(join(dir, "invocations.jsonl"), `${JSON.stringify(r3)}\n`);
    const { runs } = computeRunStats(loadRun(dir), DEFAULT_PRICING);
    t.equal(runs[0]?.reachedUnbilled, 1, "r3 only: r2 has no REPORT but its record bills it");
    t.equal(runs[0]?.billedMs, 101 + 201, "r3 adds nothing to the billed total");
    const a = analyseRun(dir);
    const lines = billingLines(a);
    t.same(
      lines.slice(-2),
      [
        "  Reached, no REPORT and no record: 1 invocations, billed 0 ms (their cost is unknown):",
        `    ${RUN} ${CELL_ID}: 1 of 3 reached`,
      ],
      "summary.txt says so, per run",
    );
    t.match(
      renderReport(a),
      "Reached, no REPORT and no record: 1 invocations, billed 0 ms",
      "and so does the report",
    );
    const clean = t.testdir();
    writeRun(clean);
    t.equal(
      billingLines(analyseRun(clean)).at(-1),
      "  Reached, no REPORT and no record: 0",
      "0 when every reached invocation is billed",
    );
  },
);
