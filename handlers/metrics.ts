/**
 * The invocation's EMF line: built by the pure `serializeEmfLine` of core/emf.ts and written
 * from exactly one place, here.
 */
import type { EmfRecord } from "../core/emf";
import { serializeEmfLine } from "../core/emf";

/**
 * Writes the record as ONE stdout write of one line, so CloudWatch Logs (and the local
 * runtime's log capture) never sees it split or interleaved.
 */
export function emitRecord(record: EmfRecord): void {
  process.stdout.write(serializeEmfLine(record));
}
