/**
 * Reads the Lambda log tail that `LogType: "Tail"` returns: the invocation's EMF line (the
 * REPORT data is read by core/lambda-logs.ts parseReport, in either log format).
 */
import { extractEmfRecord } from "../core/emf";

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
