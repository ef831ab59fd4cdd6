import t from "tap";
import { decodeLogResult, findEmfLine, parseReportLine } from "../../automation/report-line";
import { buildEmfLine, type EmfRecord } from "../../core/emf";

const record: EmfRecord = {
  ts_start_ms: 1_700_000_000_000,
  ts_end_ms: 1_700_000_000_120,
  latency_ms: 120,
  workload: "events",
  run_id: "run_1700000000000_abc123",
  function_name: "s3-experiment-events-512mb-b10-rc0",
  region: "us-east-1",
  memory_mb: 512,
  reserved_concurrency: 0,
  events_generated: 10,
  object_bytes: 10240,
  multipart_part_mb: 0,
  multipart_parts: 0,
  s3_bucket: "b",
  s3_key: "events/512mb/run_1700000000000_abc123/1-u.jsonl",
  schema_version: 1,
  request_id: "req-1",
  cold_start: true,
  ok: true,
  batch_events: 10,
  event_bytes: 1024,
  object_mb: 0,
};
const emfLine = JSON.stringify(buildEmfLine(record));

t.test("a cold-start REPORT line yields every number including Init Duration", async (t) => {
  const tail = [
    "START RequestId: req-1 Version: $LATEST",
    emfLine,
    "END RequestId: req-1",
    "REPORT RequestId: req-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 150.00 ms\t",
  ].join("\n");
  t.same(
    parseReportLine(tail),
    {
      duration_ms: 12.34,
      billed_duration_ms: 13,
      memory_size_mb: 512,
      max_memory_used_mb: 80,
      init_duration_ms: 150,
    },
    "all five fields parsed",
  );
  t.equal(findEmfLine(tail), emfLine, "the EMF line is found verbatim");
});

t.test("a warm REPORT line has no init_duration_ms", async (t) => {
  const r = parseReportLine(
    "REPORT RequestId: x\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 1024 MB\tMax Memory Used: 70 MB",
  );
  t.same(
    r,
    { duration_ms: 1, billed_duration_ms: 1, memory_size_mb: 1024, max_memory_used_mb: 70 },
    "four fields",
  );
  t.notOk(r !== undefined && "init_duration_ms" in r, "no init field on a warm start");
});

t.test("a truncated tail without the REPORT numbers yields nothing", async (t) => {
  t.equal(parseReportLine("REPORT RequestId: x\tDuration: 1.00 ms"), undefined, "incomplete line");
  t.equal(parseReportLine("START RequestId: x\nEND RequestId: x"), undefined, "no REPORT line");
  t.equal(findEmfLine('START RequestId: x\n{"not":"emf"}'), undefined, "no EMF line");
});

t.test("LogResult is base64 text; absent means empty", async (t) => {
  t.equal(decodeLogResult(Buffer.from("héllo\n").toString("base64")), "héllo\n", "decoded UTF-8");
  t.equal(decodeLogResult(undefined), "", "absent");
});
