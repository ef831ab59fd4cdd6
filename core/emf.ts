import { EMF } from "./constants";
import { WORKLOADS, type Workload } from "./workloads";

/**
 * One invocation's record, success or failure: the root fields of the EMF line.
 * The seed's fields first, ours after (docs/architecture.md "The EMF line").
 *
 * On failure `ok` is false, `error` says why and `object_bytes` is 0 (nothing was written).
 * Fields of the other workload are 0: events records have `multipart_part_mb`,
 * `multipart_parts` and `object_mb` 0; batch records have `events_generated`, `batch_events`
 * and `event_bytes` 0.
 */
export interface EmfRecord {
  readonly ts_start_ms: number;
  readonly ts_end_ms: number;
  readonly latency_ms: number;
  readonly workload: Workload;
  readonly run_id: string;
  readonly function_name: string;
  readonly region: string;
  readonly memory_mb: number;
  readonly reserved_concurrency: number;
  readonly events_generated: number;
  readonly object_bytes: number;
  readonly multipart_part_mb: number;
  readonly multipart_parts: number;
  readonly s3_bucket: string;
  readonly s3_key: string;
  readonly schema_version: typeof EMF.schemaVersion;
  readonly request_id: string;
  readonly cold_start: boolean;
  readonly ok: boolean;
  readonly error?: string;
  readonly batch_events: number;
  readonly event_bytes: number;
  readonly object_mb: number;
}

/** The `_aws` metadata block of an EMF line. */
export interface EmfMetadata {
  readonly Timestamp: number;
  readonly CloudWatchMetrics: readonly [
    {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    },
  ];
}

/** A whole EMF line as written to stdout. */
export type EmfLine = EmfRecord & { readonly _aws: EmfMetadata };

/**
 * Every field of a record with the kind of value it holds, in the order of the EMF line: the
 * seed's first, ours after. The one list {@link buildEmfLine} orders by and
 * {@link asEmfRecord} checks against.
 */
const RECORD_FIELDS = {
  ts_start_ms: "number",
  ts_end_ms: "number",
  latency_ms: "number",
  workload: "workload",
  run_id: "string",
  function_name: "string",
  region: "string",
  memory_mb: "number",
  reserved_concurrency: "number",
  events_generated: "number",
  object_bytes: "number",
  multipart_part_mb: "number",
  multipart_parts: "number",
  s3_bucket: "string",
  s3_key: "string",
  schema_version: "schema",
  request_id: "string",
  cold_start: "boolean",
  ok: "boolean",
  error: "optional string",
  batch_events: "number",
  event_bytes: "number",
  object_mb: "number",
} as const satisfies Record<keyof EmfRecord, string>;

const RECORD_ORDER = Object.keys(RECORD_FIELDS) as (keyof EmfRecord)[];

/** True when `v` is a value of the field kind `kind`. */
function isKind(kind: (typeof RECORD_FIELDS)[keyof EmfRecord], v: unknown): boolean {
  switch (kind) {
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "string":
      return typeof v === "string";
    case "optional string":
      return v === undefined || typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "workload":
      return (WORKLOADS as readonly unknown[]).includes(v);
    case "schema":
      return v === EMF.schemaVersion;
  }
}

/** A record's fields in {@link RECORD_ORDER} (absent optional fields left out), any others after. */
function ordered(record: EmfRecord): EmfRecord {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_ORDER) if (record[f] !== undefined) out[f] = record[f];
  for (const [k, v] of Object.entries(record)) if (!(k in out)) out[k] = v;
  return out as unknown as EmfRecord;
}

/**
 * Builds the EMF line for a record: a pure function, so the handler emits exactly what tests
 * check. The timestamp is the invocation's end; the only dimensions are per cell; the fields
 * follow in one fixed order, however the record was put together.
 */
export function buildEmfLine(record: EmfRecord): EmfLine {
  return {
    _aws: {
      Timestamp: record.ts_end_ms,
      CloudWatchMetrics: [
        {
          Namespace: EMF.namespace,
          Dimensions: EMF.dimensions.map((set) => [...set]),
          Metrics: EMF.metrics.map((m) => ({ ...m })),
        },
      ],
    },
    ...ordered(record),
  };
}

/** Serialises an EMF line as the single line the handler writes (with the trailing newline). */
export function serializeEmfLine(record: EmfRecord): string {
  return `${JSON.stringify(buildEmfLine(record))}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Narrows a parsed JSON value to an {@link EmfRecord}: every required field present with its
 * type, schema version 1, a known workload. Returns null for anything else (foreign lines).
 */
export function asEmfRecord(value: unknown): EmfRecord | null {
  if (!isObject(value)) return null;
  for (const f of RECORD_ORDER) if (!isKind(RECORD_FIELDS[f], value[f])) return null;
  const { _aws: _ignored, ...record } = value;
  return record as unknown as EmfRecord;
}

/**
 * Extracts the EMF record from one log line: the raw JSON line, a Lambda JSON-format log
 * object whose `message` holds it, or a text line with the JSON after a tab-separated prefix.
 * Returns null when the line carries no valid record.
 */
export function extractEmfRecord(line: string): EmfRecord | null {
  const start = line.indexOf("{");
  if (start < 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(start));
  } catch {
    return null;
  }
  const direct = asEmfRecord(parsed);
  if (direct !== null) return direct;
  if (isObject(parsed)) {
    const inner = parsed.message;
    if (typeof inner === "string") return extractEmfRecord(inner);
    if (isObject(inner)) return asEmfRecord(inner);
  }
  return null;
}
