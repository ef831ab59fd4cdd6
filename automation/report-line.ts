/**
 * Reads the Lambda log tail that `LogType: "Tail"` returns: the REPORT line's numbers and the
 * invocation's EMF line. Both backends write the same Lambda-format lines.
 */
import { extractEmfRecord } from "../core/emf";
import type { ReportLine } from "../core/run-files";

const REPORT_FIELDS = {
  Duration: "duration_ms",
  "Billed Duration": "billed_duration_ms",
  "Memory Size": "memory_size_mb",
  "Max Memory Used": "max_memory_used_mb",
  "Init Duration": "init_duration_ms",
} as const;

type ReportKey = (typeof REPORT_FIELDS)[keyof typeof REPORT_FIELDS];

/**
 * Parses a `REPORT RequestId: <id>\tDuration: 12.34 ms\t...` line. Returns undefined when the
 * text holds no REPORT line or one without its required numbers (a truncated tail).
 */
export function parseReportLine(text: string): ReportLine | undefined {
  const line = text.split(/\r?\n/).find((l) => l.startsWith("REPORT RequestId:"));
  if (line === undefined) return undefined;
  const found: Partial<Record<ReportKey, number>> = {};
  for (const part of line.split("\t")) {
    const m = /^\s*([A-Za-z ]+):\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|MB)\s*$/.exec(part);
    if (m === null) continue;
    const key = REPORT_FIELDS[m[1] as keyof typeof REPORT_FIELDS];
    if (key !== undefined) found[key] = Number(m[2]);
  }
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

/**
 * The first line of a log tail that carries a valid EMF record, verbatim; undefined when none
 * does (the tail holds only the last 4 KB, so a noisy invocation may have lost it).
 */
export function findEmfLine(text: string): string | undefined {
  return text.split(/\r?\n/).find((l) => extractEmfRecord(l) !== null);
}

/** Decodes the base64 `LogResult` of an Invoke response (empty when absent). */
export function decodeLogResult(logResult: string | undefined): string {
  return logResult === undefined ? "" : Buffer.from(logResult, "base64").toString("utf8");
}
