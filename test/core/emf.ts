import t from "tap";
import type { EmfRecord } from "../../core/emf";
import { asEmfRecord, buildEmfLine, extractEmfRecord, serializeEmfLine } from "../../core/emf";

const record: EmfRecord = {
  ts_start_ms: 1000,
  ts_end_ms: 1100,
  latency_ms: 100,
  workload: "events",
  run_id: "run_1700000000000_abcdef",
  function_name: "s3-experiment-events-512mb-b10-rc0",
  region: "us-east-1",
  memory_mb: 512,
  reserved_concurrency: 0,
  events_generated: 10,
  object_bytes: 10240,
  multipart_part_mb: 0,
  multipart_parts: 0,
  s3_bucket: "b",
  s3_key: "events/512mb/run_1700000000000_abcdef/1000-u.jsonl",
  schema_version: 1,
  request_id: "req-1",
  cold_start: true,
  ok: true,
  batch_events: 10,
  event_bytes: 1024,
  object_mb: 0,
};

t.test("the EMF line carries one per-cell dimension set and the four metrics", async (t) => {
  const line = buildEmfLine(record);
  const directive = line._aws.CloudWatchMetrics[0];
  t.equal(line._aws.Timestamp, 1100, "timestamp is the invocation's end");
  t.equal(directive.Namespace, "S3IngestionExperiment", "namespace");
  t.same(directive.Dimensions, [["workload", "function_name"]], "no per-run dimension");
  t.same(
    directive.Metrics.map((m) => `${m.Name}:${m.Unit}`),
    [
      "latency_ms:Milliseconds",
      "object_bytes:Bytes",
      "events_generated:Count",
      "multipart_parts:Count",
    ],
    "metrics and units",
  );
});

t.test("a serialised line is one line that parses back to the record", async (t) => {
  const text = serializeEmfLine(record);
  t.equal(text.indexOf("\n"), text.length - 1, "exactly one newline, at the end");
  t.same(extractEmfRecord(text), record, "round trip");
});

t.test("records are found inside Lambda's JSON and text log formats", async (t) => {
  const raw = serializeEmfLine(record).trim();
  t.same(
    extractEmfRecord(JSON.stringify({ timestamp: "x", level: "INFO", message: raw })),
    record,
    "JSON log format, message string",
  );
  t.same(
    extractEmfRecord(JSON.stringify({ message: JSON.parse(raw) })),
    record,
    "JSON log format, message object",
  );
  t.same(
    extractEmfRecord(`2026-01-01T00:00:00Z\treq-1\tINFO\t${raw}`),
    record,
    "text format prefix",
  );
});

t.test("foreign and malformed lines are not records", async (t) => {
  t.equal(extractEmfRecord("START RequestId: x Version: $LATEST"), null, "no JSON");
  t.equal(extractEmfRecord("{not json"), null, "broken JSON");
  t.equal(asEmfRecord({ ...record, schema_version: 2 }), null, "unknown schema version");
  t.equal(asEmfRecord({ ...record, latency_ms: "100" }), null, "wrong field type");
  t.equal(asEmfRecord({ ...record, workload: "stream" }), null, "unknown workload");
  const { run_id: _omitted, ...missing } = record;
  t.equal(asEmfRecord(missing), null, "missing field");
});

t.test("the line's fields follow one order, however the record was put together", async (t) => {
  const reversed = Object.fromEntries(
    Object.entries({ ...record, ok: false, error: "SlowDown" }).reverse(),
  ) as unknown as EmfRecord;
  const order = [
    "_aws",
    ...["ts_start_ms", "ts_end_ms", "latency_ms", "workload", "run_id", "function_name"],
    ...["region", "memory_mb", "reserved_concurrency", "events_generated", "object_bytes"],
    ...["multipart_part_mb", "multipart_parts", "s3_bucket", "s3_key", "schema_version"],
    ...["request_id", "cold_start", "ok", "error", "batch_events", "event_bytes", "object_mb"],
  ];
  t.same(Object.keys(buildEmfLine(reversed)), order, "the seed's fields, then ours");
  const withExtra = Object.keys(buildEmfLine({ ...record, extra: 1 } as unknown as EmfRecord));
  t.same(withExtra.slice(-2), ["object_mb", "extra"], "a field outside the contract is kept, last");
  t.notOk(withExtra.includes("error"), "an absent error stays absent");
});
