/**
 * Physical bounds of what a record or an invocation line can say. A value outside them (a
 * latency of 1e308 ms, a negative byte count) is not a measurement: the line is skipped and
 * counted with its reason, like a malformed line, so one corrupt line cannot move a statistic.
 */
import { LAMBDA, S3_MULTIPART } from "../core/constants";
import type { EmfRecord } from "../core/emf";
import type { InvocationRecord } from "../core/run-files";

/** S3's largest object, bytes (5 TiB). */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** Lambda's longest invocation, ms. */
const MAX_DURATION_MS = LAMBDA.maxTimeoutSeconds * 1000;

function within(x: unknown, min: number, max: number): boolean {
  return typeof x === "number" && Number.isFinite(x) && x >= min && x <= max;
}

/** Why a record is outside physical bounds (`field: rule`), or undefined when it is not. */
export function recordOutOfBounds(r: EmfRecord): string | undefined {
  if (!within(r.latency_ms, 0, MAX_DURATION_MS)) return `latency_ms outside 0–${MAX_DURATION_MS}`;
  if (!within(r.ts_start_ms, 0, Number.MAX_SAFE_INTEGER)) return "ts_start_ms not a time";
  if (!within(r.ts_end_ms, r.ts_start_ms, Number.MAX_SAFE_INTEGER)) {
    return "ts_end_ms before ts_start_ms";
  }
  if (!within(r.object_bytes, 0, MAX_OBJECT_BYTES)) return "object_bytes outside 0–5 TiB";
  if (!within(r.events_generated, 0, Number.MAX_SAFE_INTEGER)) return "events_generated negative";
  if (!within(r.multipart_parts, 0, S3_MULTIPART.maxParts)) {
    return `multipart_parts outside 0–${S3_MULTIPART.maxParts}`;
  }
  return undefined;
}

/** Why an invocation line is outside physical bounds, or undefined when it is not. */
export function invocationOutOfBounds(i: InvocationRecord): string | undefined {
  if (!within(i.client_start_ms, 0, Number.MAX_SAFE_INTEGER)) return "client_start_ms not a time";
  if (!within(i.client_end_ms, i.client_start_ms, Number.MAX_SAFE_INTEGER)) {
    return "client_end_ms before client_start_ms";
  }
  const rep = i.report;
  if (rep !== undefined) {
    for (const [k, v] of Object.entries(rep)) {
      if (!within(v, 0, 2 * MAX_DURATION_MS)) return `report.${k} outside 0–${2 * MAX_DURATION_MS}`;
    }
  }
  return undefined;
}
