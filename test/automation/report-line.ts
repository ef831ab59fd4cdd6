import t from "tap";
import { decodeLogResult, findEmfLine } from "../../automation/report-line";
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

t.test("the EMF line is found verbatim in a Text tail and in a JSON tail", async (t) => {
  const text = [
    "START RequestId: req-1 Version: $LATEST",
    emfLine,
    "END RequestId: req-1",
    "REPORT RequestId: req-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB",
  ].join("\n");
  t.equal(findEmfLine(text), emfLine, "Text tail");
  const json = [
    '{"time":"2026-12-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"req-1","version":"$LATEST"}}',
    '{"timestamp":"2026-12-01T00:00:00.001Z","level":"INFO","requestId":"req-1","message":"hello"}',
    emfLine,
    '{"time":"2026-12-01T00:00:00.120Z","type":"platform.report","record":{"requestId":"req-1","metrics":{"durationMs":12.34,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":80},"status":"success"}}',
  ].join("\n");
  t.equal(findEmfLine(json), emfLine, "JSON tail: platform and console records are not EMF");
  t.equal(findEmfLine('START RequestId: x\n{"not":"emf"}'), undefined, "no EMF line");
});

t.test("LogResult is base64 text; absent means empty", async (t) => {
  t.equal(decodeLogResult(Buffer.from("héllo\n").toString("base64")), "héllo\n", "decoded UTF-8");
  t.equal(decodeLogResult(undefined), "", "absent");
});
