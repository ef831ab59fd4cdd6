import t from "tap";
import {
  rawRecordsQuery,
  runFilterPattern,
  runSummaryQuery,
  seedP95ThroughputQuery,
} from "../../automation/queries";

const RUN = "run_1234567890123_abc123";

t.test("the seed's p95/throughput/bytes query is reproduced verbatim", async (t) => {
  t.equal(
    seedP95ThroughputQuery(RUN),
    `fields @timestamp, @message
| filter ispresent(run_id) and run_id = 'run_1234567890123_abc123' and ispresent(latency_ms)
| parse @message '*"latency_ms":*,' as latency_ms:number
| parse @message '*"object_bytes":*,' as object_bytes:number
| stats pct(latency_ms,95) as p95_ms,
        sum(1) / ((max(@timestamp)-min(@timestamp))/1000) as throughput_obj_per_s,
        sum(object_bytes) as bytes_sum`,
    "seed query text",
  );
});

t.test("the run summary query uses the record timestamps for the window", async (t) => {
  t.equal(
    runSummaryQuery(RUN),
    `filter ispresent(latency_ms) and run_id = 'run_1234567890123_abc123'
| stats count(*) as records,
        pct(latency_ms, 95) as p95_ms,
        count(*) / ((max(ts_end_ms) - min(ts_start_ms)) / 1000) as throughput_obj_per_s,
        sum(object_bytes) as bytes_sum`,
    "summary query text",
  );
});

t.test("the raw records query returns whole messages of one run, up to 10,000", async (t) => {
  t.equal(
    rawRecordsQuery(RUN),
    `fields @timestamp, @message
| filter ispresent(run_id) and run_id = 'run_1234567890123_abc123'
| sort @timestamp asc
| limit 10000`,
    "raw query text",
  );
  t.equal(runFilterPattern(RUN), '"run_1234567890123_abc123"', "quoted-term filter pattern");
});

t.test("a run id that could inject query text is refused", async (t) => {
  t.throws(
    () => rawRecordsQuery("run_1' or 1=1"),
    {
      name: "InvalidInputError",
      message: `run_id="run_1' or 1=1" is invalid: allowed run_<epoch ms>_<6 of [a-z0-9]>`,
    },
    "exact error",
  );
});
