/**
 * CloudWatch Logs Insights queries, as named builders so that each query text is pinned by a
 * test. Run ids are validated before they enter a query string.
 */
import { InvalidInputError } from "../core/errors";
import { RUN_ID_PATTERN } from "../core/names";

/** Most rows one Logs Insights query returns. */
export const INSIGHTS_MAX_ROWS = 10_000;

function checkedRunId(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new InvalidInputError("run_id", runId, "run_<epoch ms>_<6 of [a-z0-9]>");
  }
  return runId;
}

/**
 * The seed's query (original design, "CloudWatch Logs Insights Queries"), verbatim: p95
 * latency, throughput over log timestamps and bytes of one run. Kept for comparison with the
 * seed; {@link runSummaryQuery} uses the record timestamps the report defines (README "How to read the report").
 */
export function seedP95ThroughputQuery(runId: string): string {
  const id = checkedRunId(runId);
  return [
    "fields @timestamp, @message",
    `| filter ispresent(run_id) and run_id = '${id}' and ispresent(latency_ms)`,
    `| parse @message '*"latency_ms":*,' as latency_ms:number`,
    `| parse @message '*"object_bytes":*,' as object_bytes:number`,
    "| stats pct(latency_ms,95) as p95_ms,",
    "        sum(1) / ((max(@timestamp)-min(@timestamp))/1000) as throughput_obj_per_s,",
    "        sum(object_bytes) as bytes_sum",
  ].join("\n");
}

/**
 * p95 latency, throughput and bytes of one run with the report's window: records over
 * `max(ts_end_ms) − min(ts_start_ms)` (log timestamps would drop the first invocation).
 * Insights discovers the JSON fields of the EMF line itself, so no `parse` is needed.
 */
export function runSummaryQuery(runId: string): string {
  const id = checkedRunId(runId);
  return [
    `filter ispresent(latency_ms) and run_id = '${id}'`,
    "| stats count(*) as records,",
    "        pct(latency_ms, 95) as p95_ms,",
    "        count(*) / ((max(ts_end_ms) - min(ts_start_ms)) / 1000) as throughput_obj_per_s,",
    "        sum(object_bytes) as bytes_sum",
  ].join("\n");
}

/** Every EMF line of one run, whole (`@message`), oldest first: what the harvester collects. */
export function rawRecordsQuery(runId: string): string {
  const id = checkedRunId(runId);
  return [
    "fields @timestamp, @message",
    `| filter ispresent(run_id) and run_id = '${id}'`,
    "| sort @timestamp asc",
    `| limit ${INSIGHTS_MAX_ROWS}`,
  ].join("\n");
}

/**
 * The `FilterLogEvents` pattern of one run: the run id as a quoted term, which matches the
 * raw JSON line and Lambda's JSON log format alike (lines are then checked exactly).
 */
export function runFilterPattern(runId: string): string {
  return `"${checkedRunId(runId)}"`;
}
