/**
 * Shared builders for the automation tests (not a test file: tap runs only files with
 * `t.test`, and this one has none).
 */

import type { Cell } from "../../core/cell";
import type { DeployedCell } from "../../core/deployer";
import { buildEmfLine, type EmfRecord } from "../../core/emf";
import type { InvocationRecord } from "../../core/run-files";

export const RUN = "run_1700000000000_abc123";
export const CELL: Cell = {
  workload: "events",
  memoryMb: 512,
  batchEvents: 1,
  reservedConcurrency: 0,
};

export const DEPLOYED: DeployedCell = {
  cellId: "events-512mb-b1-rc0",
  functionName: "s3-experiment-events-512mb-b1-rc0",
  bucket: "b",
  logGroup: "/aws/lambda/s3-experiment-events-512mb-b1-rc0",
  region: "us-east-1",
  endpoints: {},
};

/** An EMF record of invocation `i` of a run. */
export function emf(i: number, runId = RUN): EmfRecord {
  return {
    ts_start_ms: 1_700_000_000_000 + i,
    ts_end_ms: 1_700_000_000_050 + i,
    latency_ms: 50,
    workload: "events",
    run_id: runId,
    function_name: DEPLOYED.functionName,
    region: "us-east-1",
    memory_mb: 512,
    reserved_concurrency: 0,
    events_generated: 1,
    object_bytes: 1024,
    multipart_part_mb: 0,
    multipart_parts: 0,
    s3_bucket: "b",
    s3_key: `events/512mb/${runId}/${i}.jsonl`,
    schema_version: 1,
    request_id: `req-${i}`,
    cold_start: i === 0,
    ok: true,
    batch_events: 1,
    event_bytes: 1024,
    object_mb: 0,
  };
}

/** The EMF line of invocation `i`, as the handler writes it. */
export function emfLine(i: number, runId = RUN): string {
  return JSON.stringify(buildEmfLine(emf(i, runId)));
}

/** The client record of invocation `i`: reached (200) unless throttled. */
export function invocation(
  i: number,
  opts: { throttled?: boolean; tail?: boolean } = {},
): InvocationRecord {
  return {
    run_id: RUN,
    cell_id: DEPLOYED.cellId,
    function_name: DEPLOYED.functionName,
    workload: "events",
    trial: 1,
    seq: i,
    request_id: `req-${i}`,
    client_start_ms: 1_700_000_000_000 + i,
    client_end_ms: 1_700_000_000_060 + i,
    status_code: opts.throttled === true ? 429 : 200,
    throttled: opts.throttled === true,
    ...(opts.tail === true ? { tail_emf_line: emfLine(i) } : {}),
  };
}
