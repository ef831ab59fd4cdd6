/**
 * Lambda's system log records in both of its log formats, written and read in one place: the
 * local runtime writes them, the invoker reads REPORT data from the Invoke log tail, and the
 * analysis sizes them for CloudWatch Logs ingestion.
 *
 * - `Text` (CreateFunction's default): `START RequestId: …`, `END RequestId: …` and
 *   `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\t…` lines.
 * - `JSON` (what IngestCell deploys): one JSON object per system event, `{"time", "type",
 *   "record"}` with `type` `platform.initStart`, `platform.start`, `platform.runtimeDone` and
 *   `platform.report` (`record.metrics.durationMs`, `billedDurationMs`, `memorySizeMB`,
 *   `maxMemoryUsedMB`, `initDurationMs` on a cold start; `record.status`). There is no
 *   `REPORT RequestId:` line. Lines a function writes with `process.stdout.write` stay raw; its
 *   `console.*` lines become `{"timestamp","level","requestId","message"}` objects (written
 *   by local/lambda/bootstrap.js, the runtime inside each local environment).
 *
 * Sources: Lambda developer guide, "Configuring JSON and plain text log formats" and the
 * Telemetry API event schema reference (the same record shapes).
 */
import { billedDurationMs } from "./billing";
import type { ReportLine } from "./run-files";

/** Lambda's two log formats (`LoggingConfig.LogFormat`). */
export const LOG_FORMATS = ["Text", "JSON"] as const;

/** A Lambda log format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The log format every experiment cell is deployed with, on AWS (IngestCell) and locally. */
export const CELL_LOG_FORMAT: LogFormat = "JSON";

/** The version every invocation runs. */
export const LATEST = "$LATEST";

/** How the platform ended an invocation (`record.status`; Text's `Status:` field). */
export type InvokeStatus = "success" | "error" | "timeout";

/** What a REPORT says about one invocation. */
export interface ReportFields {
  readonly requestId: string;
  readonly durationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Only on a cold start. */
  readonly initDurationMs?: number;
  readonly status: InvokeStatus;
  /** Lambda's error type, with status `error`. */
  readonly errorType?: string;
}

function jsonRecord(timeMs: number, type: string, record: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date(timeMs).toISOString(), type, record });
}

/**
 * The `platform.initStart` record of a cold start (JSON). The local runtime writes no
 * `INIT_START` line in Text, so undefined there.
 */
export function initStartRecord(
  format: LogFormat,
  timeMs: number,
  f: { functionName: string; runtimeVersion: string },
): string | undefined {
  if (format === "Text") return undefined;
  return jsonRecord(timeMs, "platform.initStart", {
    initializationType: "on-demand",
    phase: "init",
    runtimeVersion: f.runtimeVersion,
    functionName: f.functionName,
    functionVersion: LATEST,
  });
}

/** `START RequestId: <id> Version: $LATEST`, or `platform.start`. */
export function startRecord(format: LogFormat, timeMs: number, requestId: string): string {
  if (format === "Text") return `START RequestId: ${requestId} Version: ${LATEST}`;
  return jsonRecord(timeMs, "platform.start", { requestId, version: LATEST });
}

/** `END RequestId: <id>`, or `platform.runtimeDone` with the invocation's status. */
export function endRecord(
  format: LogFormat,
  timeMs: number,
  f: { requestId: string; status: InvokeStatus; durationMs: number; errorType?: string },
): string {
  if (format === "Text") return `END RequestId: ${f.requestId}`;
  return jsonRecord(timeMs, "platform.runtimeDone", {
    requestId: f.requestId,
    status: f.status,
    ...(f.errorType === undefined ? {} : { errorType: f.errorType }),
    metrics: { durationMs: round2(f.durationMs) },
  });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * The REPORT of one invocation, its Billed Duration by {@link billedDurationMs} (INIT included
 * on a cold start). Text: `REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\t`
 * + `Memory Size: 512 MB\tMax Memory Used: 80 MB[\tInit Duration: 150.00 ms][\tStatus: …]`.
 */
export function reportRecord(format: LogFormat, timeMs: number, f: ReportFields): string {
  // Billed from the figures as reported (2 decimals), so that a REPORT is self-consistent:
  // Billed Duration = ⌈Duration + Init Duration⌉ of the numbers it shows, as on AWS.
  const billed = billedDurationMs(
    round2(f.durationMs),
    f.initDurationMs === undefined ? undefined : round2(f.initDurationMs),
  );
  if (format === "JSON") {
    return jsonRecord(timeMs, "platform.report", {
      requestId: f.requestId,
      metrics: {
        durationMs: round2(f.durationMs),
        billedDurationMs: billed,
        memorySizeMB: f.memorySizeMb,
        maxMemoryUsedMB: f.maxMemoryUsedMb,
        ...(f.initDurationMs === undefined ? {} : { initDurationMs: round2(f.initDurationMs) }),
      },
      status: f.status,
      ...(f.errorType === undefined ? {} : { errorType: f.errorType }),
    });
  }
  const parts = [
    `REPORT RequestId: ${f.requestId}`,
    `Duration: ${round2(f.durationMs).toFixed(2)} ms`,
    `Billed Duration: ${billed} ms`,
    `Memory Size: ${f.memorySizeMb} MB`,
    `Max Memory Used: ${f.maxMemoryUsedMb} MB`,
  ];
  if (f.initDurationMs !== undefined)
    parts.push(`Init Duration: ${f.initDurationMs.toFixed(2)} ms`);
  if (f.status !== "success") parts.push(`Status: ${f.status}`);
  if (f.status === "error" && f.errorType !== undefined) parts.push(`Error Type: ${f.errorType}`);
  return parts.join("\t");
}

const TEXT_FIELDS = {
  Duration: "duration_ms",
  "Billed Duration": "billed_duration_ms",
  "Memory Size": "memory_size_mb",
  "Max Memory Used": "max_memory_used_mb",
  "Init Duration": "init_duration_ms",
} as const;

type ReportKey = (typeof TEXT_FIELDS)[keyof typeof TEXT_FIELDS];

function complete(found: Partial<Record<ReportKey, number>>): ReportLine | undefined {
  const { duration_ms, billed_duration_ms, memory_size_mb, max_memory_used_mb, init_duration_ms } =
    found;
  if (
    duration_ms === undefined ||
    billed_duration_ms === undefined ||
    memory_size_mb === undefined ||
    max_memory_used_mb === undefined
  ) {
    return undefined;
  }
  return {
    duration_ms,
    billed_duration_ms,
    memory_size_mb,
    max_memory_used_mb,
    ...(init_duration_ms === undefined ? {} : { init_duration_ms }),
  };
}

function parseTextReport(line: string): ReportLine | undefined {
  const found: Partial<Record<ReportKey, number>> = {};
  for (const part of line.split("\t")) {
    const m = /^\s*([A-Za-z ]+):\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|MB)\s*$/.exec(part);
    if (m === null) continue;
    const key = TEXT_FIELDS[m[1] as keyof typeof TEXT_FIELDS];
    if (key !== undefined) found[key] = Number(m[2]);
  }
  return complete(found);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJsonReport(line: string): ReportLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v.type !== "platform.report" || !isObject(v.record)) return undefined;
  const m = v.record.metrics;
  if (!isObject(m)) return undefined;
  const num = (x: unknown): number | undefined =>
    typeof x === "number" && Number.isFinite(x) ? x : undefined;
  const found: Partial<Record<ReportKey, number>> = {};
  const pairs: [ReportKey, unknown][] = [
    ["duration_ms", m.durationMs],
    ["billed_duration_ms", m.billedDurationMs],
    ["memory_size_mb", m.memorySizeMB],
    ["max_memory_used_mb", m.maxMemoryUsedMB],
    ["init_duration_ms", m.initDurationMs],
  ];
  for (const [k, x] of pairs) {
    const n = num(x);
    if (n !== undefined) found[k] = n;
  }
  return complete(found);
}

/**
 * The REPORT data of a log text in either format: a `REPORT RequestId:` line or a
 * `platform.report` record. Undefined when the text holds none, or one without its required
 * numbers (a truncated tail).
 */
export function parseReport(text: string): ReportLine | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("REPORT RequestId:")) return parseTextReport(line);
    if (line.startsWith("{") && line.includes('"platform.report"')) return parseJsonReport(line);
  }
  return undefined;
}
