import t from "tap";
import {
  billedDurationMs,
  endLine,
  reportLine,
  startLine,
  timedOutLine,
  timedOutText,
} from "../../../local/lambda/log-lines";

const ID = "8f5b2d1e-0c3a-4b7e-9d6f-2a1c3e5b7d9f";

t.test("START and END lines are Lambda's", async (t) => {
  t.equal(startLine(ID), `START RequestId: ${ID} Version: $LATEST`, "START line");
  t.equal(endLine(ID), `END RequestId: ${ID}`, "END line");
});

t.test("a warm REPORT line has the five tab-separated fields and no Init Duration", async (t) => {
  t.equal(
    reportLine({ requestId: ID, durationMs: 12.344, memorySizeMb: 512, maxMemoryUsedMb: 80 }),
    `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB`,
    "exact warm REPORT",
  );
});

t.test("a cold REPORT line adds Init Duration and bills init + duration", async (t) => {
  t.equal(
    reportLine({
      requestId: ID,
      durationMs: 12.34,
      memorySizeMb: 1024,
      maxMemoryUsedMb: 95,
      initDurationMs: 150,
    }),
    `REPORT RequestId: ${ID}\tDuration: 12.34 ms\tBilled Duration: 163 ms\tMemory Size: 1024 MB\tMax Memory Used: 95 MB\tInit Duration: 150.00 ms`,
    "exact cold REPORT",
  );
});

t.test("platform-ended invocations carry Lambda's Status and Error Type fields", async (t) => {
  const base = { requestId: ID, durationMs: 1000.5, memorySizeMb: 128, maxMemoryUsedMb: 128 };
  t.match(
    reportLine({ ...base, status: "timeout" }),
    /\tMax Memory Used: 128 MB\tStatus: timeout$/,
    "timeout",
  );
  t.match(
    reportLine({ ...base, status: "error", errorType: "Runtime.OutOfMemory" }),
    /\tStatus: error\tError Type: Runtime\.OutOfMemory$/,
    "out of memory",
  );
});

t.test("billing rounds up to the next millisecond, at least 1 ms", async (t) => {
  t.equal(billedDurationMs(0.2), 1, "sub-millisecond bills 1 ms");
  t.equal(billedDurationMs(3), 3, "whole ms stays");
  t.equal(billedDurationMs(3.01), 4, "rounds up");
  t.equal(billedDurationMs(3.5, 100.6), 105, "init billed");
});

t.test("timeouts are worded as Lambda words them", async (t) => {
  t.equal(timedOutText(3), "Task timed out after 3.00 seconds", "text");
  t.equal(
    timedOutLine(Date.UTC(2026, 0, 2, 3, 4, 5, 6), ID, 60),
    `2026-01-02T03:04:05.006Z ${ID} Task timed out after 60.00 seconds`,
    "log line",
  );
});
