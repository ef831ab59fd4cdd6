import t from "tap";
import { billedDurationMs } from "../../core/billing";
import {
  endRecord,
  initStartRecord,
  parseReport,
  reportRecord,
  startRecord,
} from "../../core/lambda-logs";

const ID = "8f5b2d1e-0c3a-4b7e-9d6f-2a1c3e5b7d9f";
const T = Date.UTC(2026, 11, 1, 12, 0, 0, 5);
const warm = {
  requestId: ID,
  durationMs: 12.344,
  memorySizeMb: 512,
  maxMemoryUsedMb: 80,
  status: "success",
} as const;
const cold = {
  ...warm,
  durationMs: 12.34,
  memorySizeMb: 1024,
  maxMemoryUsedMb: 95,
  initDurationMs: 150,
};

t.test("Text: START, END and REPORT lines are Lambda's", async (t) => {
  t.equal(startRecord("Text", T, ID), `START RequestId: ${ID} Version: $LATEST`, "START line");
  t.equal(
    endRecord("Text", T, { requestId: ID, status: "success", durationMs: 1 }),
    `END RequestId: ${ID}`,
    "END line",
  );
  t.equal(
    reportRecord("Text", T, warm),
    `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB`,
    "exact warm REPORT",
  );
  t.equal(
    reportRecord("Text", T, cold),
    `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 163 ms\tMemory Size: 1024 MB\tMax Memory Used: 95 MB\tInit Duration: 150.00 ms`,
    "exact cold REPORT: Billed Duration includes INIT",
  );
  t.equal(
    initStartRecord("Text", T, { functionName: "f", runtimeVersion: "v" }),
    undefined,
    "no INIT_START line",
  );
});

t.test("Text: platform-ended invocations carry Status and Error Type", async (t) => {
  const base = { requestId: ID, durationMs: 1000.5, memorySizeMb: 128, maxMemoryUsedMb: 128 };
  t.match(
    reportRecord("Text", T, { ...base, status: "timeout" }),
    /\tMax Memory Used: 128 MB\tStatus: timeout$/,
    "timeout",
  );
  t.match(
    reportRecord("Text", T, { ...base, status: "error", errorType: "Runtime.OutOfMemory" }),
    /\tStatus: error\tError Type: Runtime\.OutOfMemory$/,
    "out of memory",
  );
});

t.test("JSON: system records are Lambda's platform.* objects", async (t) => {
  t.equal(
    startRecord("JSON", T, ID),
    `{"time":"2026-12-01T12:00:00.005Z","type":"platform.start","record":{"requestId":"${ID}","version":"$LATEST"}}`,
    "platform.start",
  );
  t.equal(
    initStartRecord("JSON", T, { functionName: "fn", runtimeVersion: "nodejs:22.local" }),
    '{"time":"2026-12-01T12:00:00.005Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"nodejs:22.local","functionName":"fn","functionVersion":"$LATEST"}}',
    "platform.initStart",
  );
  t.equal(
    endRecord("JSON", T, { requestId: ID, status: "timeout", durationMs: 3000.004 }),
    `{"time":"2026-12-01T12:00:00.005Z","type":"platform.runtimeDone","record":{"requestId":"${ID}","status":"timeout","metrics":{"durationMs":3000}}}`,
    "platform.runtimeDone",
  );
  t.equal(
    reportRecord("JSON", T, cold),
    `{"time":"2026-12-01T12:00:00.005Z","type":"platform.report","record":{"requestId":"${ID}","metrics":{"durationMs":12.34,"billedDurationMs":163,"memorySizeMB":1024,"maxMemoryUsedMB":95,"initDurationMs":150},"status":"success"}}`,
    "platform.report of a cold start: billedDurationMs includes INIT",
  );
  t.equal(
    reportRecord("JSON", T, { ...warm, status: "error", errorType: "Runtime.ExitError" }),
    `{"time":"2026-12-01T12:00:00.005Z","type":"platform.report","record":{"requestId":"${ID}","metrics":{"durationMs":12.34,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":80},"status":"error","errorType":"Runtime.ExitError"}}`,
    "platform.report of an error",
  );
});

t.test("parseReport reads both formats into the same numbers", async (t) => {
  for (const format of ["Text", "JSON"] as const) {
    const tail = [startRecord(format, T, ID), '{"ok":true}', reportRecord(format, T, cold)].join(
      "\n",
    );
    t.same(
      parseReport(tail),
      {
        duration_ms: 12.34,
        billed_duration_ms: 163,
        memory_size_mb: 1024,
        max_memory_used_mb: 95,
        init_duration_ms: 150,
      },
      `${format}: cold REPORT`,
    );
    const r = parseReport(reportRecord(format, T, warm));
    t.same(
      r,
      { duration_ms: 12.34, billed_duration_ms: 13, memory_size_mb: 512, max_memory_used_mb: 80 },
      `${format}: warm`,
    );
    t.notOk(r !== undefined && "init_duration_ms" in r, `${format}: no init field on a warm start`);
  }
});

t.test("parseReport reads a platform.report written by AWS, keys in AWS's order", async (t) => {
  // The shape of a real JSON-format record (init billed: ⌈1233.96 + 463.512⌉ = 1698).
  const line =
    '{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"79b5e81f-9cdd-4145-b1f6-7c50ef8a2a36","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}';
  t.same(
    parseReport(line),
    {
      duration_ms: 1233.96,
      billed_duration_ms: 1698,
      memory_size_mb: 256,
      max_memory_used_mb: 123,
      init_duration_ms: 463.512,
    },
    "numbers as reported",
  );
  t.equal(
    billedDurationMs(1233.96, 463.512),
    1698,
    "the billing rule gives the same Billed Duration",
  );
});

t.test("a tail without complete REPORT data yields nothing", async (t) => {
  t.equal(parseReport("REPORT RequestId: x\tDuration: 1.00 ms"), undefined, "incomplete Text line");
  t.equal(parseReport("START RequestId: x\nEND RequestId: x"), undefined, "no REPORT line");
  t.equal(
    parseReport(
      '{"time":"t","type":"platform.report","record":{"requestId":"x","metrics":{"durationMs":1}}}',
    ),
    undefined,
    "JSON record without billed duration",
  );
  t.equal(parseReport('{"time":"t","type":"platform.report","rec'), undefined, "cut JSON record");
  t.equal(parseReport('{"type":"platform.start","record":{}}'), undefined, "no platform.report");
});

t.test("billing rounds up to the next millisecond, at least 1 ms, INIT included", async (t) => {
  t.equal(billedDurationMs(0.2), 1, "sub-millisecond bills 1 ms");
  t.equal(billedDurationMs(3), 3, "whole ms stays");
  t.equal(billedDurationMs(3.01), 4, "rounds up");
  t.equal(billedDurationMs(3.5, 100.6), 105, "init billed once, in the same rounding");
});

t.test(
  "a REPORT is self-consistent: Billed Duration is ⌈Duration + Init⌉ of the figures it shows",
  async (t) => {
    // 0.004 + 0.004 below the shown 2 decimals would bill 1 ms more if billed unrounded.
    const f = { ...warm, durationMs: 10.004, initDurationMs: 100.004, status: "success" } as const;
    for (const format of ["Text", "JSON"] as const) {
      const r = parseReport(reportRecord(format, T, f));
      t.ok(r !== undefined, `${format}: parsed`);
      if (r === undefined) continue;
      t.equal(
        r.billed_duration_ms,
        billedDurationMs(r.duration_ms, r.init_duration_ms),
        `${format}: billed from the shown figures`,
      );
      t.equal(
        r.billed_duration_ms,
        110,
        `${format}: ⌈10.00 + 100.00⌉ = 110 (unrounded it would be 111)`,
      );
    }
  },
);
