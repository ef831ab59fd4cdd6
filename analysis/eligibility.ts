/** Why a cell is never recommended: its losses and its journal outcome, as codes and words. */
import type { CellStats } from "./cells";
import type { CellOutcome } from "./loaded-run";

/**
 * Above this share of invocations throttled, failed or without a record, a cell is not
 * recommended: its latency and cost describe only the invocations that got through, so a cell
 * that rejects half its load would otherwise look fast and cheap.
 */
export const MAX_LOST_SHARE = 0.05;

/**
 * Why a cell is never recommended, as codes (what code reads) with a message (what people read):
 * more than {@link MAX_LOST_SHARE} of invocations throttled or failed, or of records missing; no
 * successful invocation; its journal says it failed or never finished.
 */
export type IneligibleCode =
  | "throttled"
  | "invocations-failed"
  | "records-missing"
  | "no-success"
  | "cell-failed"
  | "cell-unfinished";

/** A cell's reasons not to be recommended. */
export interface Ineligibility {
  readonly codes: readonly IneligibleCode[];
  /** The reasons in words, `; `-separated (p95.csv, summary, report). */
  readonly message: string;
}

/** The codes that come from the cell's journal rather than from its losses. */
export const JOURNAL_CODES: readonly IneligibleCode[] = ["cell-failed", "cell-unfinished"];

/** Joins reasons into one {@link Ineligibility}; undefined when there are none. */
export function ineligibilityOf(
  reasons: readonly { code: IneligibleCode; message: string }[],
): Ineligibility | undefined {
  if (reasons.length === 0) return undefined;
  return { codes: reasons.map((r) => r.code), message: reasons.map((r) => r.message).join(", ") };
}

/** A cell's losses as reasons (throttles, failures, missing records, no success). */
export function lossReasons(c: CellStats): { code: IneligibleCode; message: string }[] {
  const reasons: { code: IneligibleCode; message: string }[] = [];
  const share = (n: number, of: number): string => `${((100 * n) / of).toFixed(0)}%`;
  if (c.invocations > 0 && c.throttles / c.invocations > MAX_LOST_SHARE)
    reasons.push({
      code: "throttled",
      message: `${share(c.throttles, c.invocations)} of invocations throttled`,
    });
  if (c.invocations > 0 && c.errors / c.invocations > MAX_LOST_SHARE)
    reasons.push({
      code: "invocations-failed",
      message: `${share(c.errors, c.invocations)} of invocations failed`,
    });
  if (c.expected > 0 && c.missing / c.expected > MAX_LOST_SHARE)
    reasons.push({
      code: "records-missing",
      message: `${share(c.missing, c.expected)} of records missing`,
    });
  if (!Number.isFinite(c.p95Mean))
    reasons.push({ code: "no-success", message: "no successful invocation" });
  return reasons;
}

/** A cell's losses as one {@link Ineligibility}. */
export function lossReason(c: CellStats): Ineligibility | undefined {
  return ineligibilityOf(lossReasons(c));
}

/** Why a cell is not recommended: its journal outcome first, then its losses. */
export function ineligibility(
  c: CellStats,
  outcomes: ReadonlyMap<string, CellOutcome>,
): Ineligibility | undefined {
  const o = outcomes.get(c.cellId);
  const journal: { code: IneligibleCode; message: string }[] =
    o === undefined || o.status === "done"
      ? []
      : o.status === "failed"
        ? [{ code: "cell-failed", message: `cell failed (${o.error ?? "no error recorded"})` }]
        : [{ code: "cell-unfinished", message: "cell unfinished" }];
  const loss = ineligibilityOf(lossReasons(c));
  if (journal.length === 0) return loss;
  const codes = [...journal.map((j) => j.code), ...(loss?.codes ?? [])];
  // The journal's reason and the losses read as two clauses.
  const message = [journal.map((j) => j.message).join(", "), loss?.message]
    .filter((m) => m !== undefined)
    .join("; ");
  return { codes, message };
}
