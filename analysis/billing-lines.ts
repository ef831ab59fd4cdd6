/** The billing lines of summary.txt and the report: where billed time came from. */
import { isMeasured } from "./frame";
import type { Analysis } from "./model";
import type { RunStats } from "./runs";
import { num } from "./text-format";

/**
 * Where billed time came from: REPORT's Billed Duration as reported (INIT already inside it
 * where billed), and how many records had no REPORT data and were billed from latency instead.
 */
export function billingLines(a: Analysis): string[] {
  const measured = a.runs.filter((r) => isMeasured(r, a.warm));
  const warmups = a.runs.filter((r) => !isMeasured(r, a.warm));
  const total = (runs: readonly RunStats[], f: (r: RunStats) => number): number =>
    runs.reduce((s, r) => s + f(r), 0);
  const both = (f: (r: RunStats) => number, digits = 0): string => {
    const m = total(measured, f);
    const w = total(warmups, f);
    return `measured ${num(m, digits)}, warm-up ${num(w, digits)}, whole run ${num(m + w, digits)}`;
  };
  const noReport = total(a.runs, (r) => r.billedFromLatency);
  const L = [
    "Billing (Lambda compute; costs per unit of work count the measured trials, warm-ups apart)",
  ];
  L.push(`  Billed duration, ms:      ${both((r) => r.billedMs)}`);
  L.push(`  Σ REPORT Billed Duration: ${both((r) => r.reportBilledMs)} (used as reported)`);
  L.push(`  Invocations with REPORT:  ${both((r) => r.reportedInvocations)}`);
  L.push(
    `  INIT duration, ms:        ${both((r) => r.initMs, 1)} (inside Billed Duration where billed; never added again)`,
  );
  if (noReport === 0) {
    L.push("  Without REPORT data:    0 records");
  } else {
    L.push(
      `  Without REPORT data:    ${noReport} records, billed from the handler's latency (which excludes INIT):`,
    );
    for (const r of a.runs.filter((x) => x.billedFromLatency > 0)) {
      L.push(`    ${r.runId} ${r.cellId}: ${r.billedFromLatency} of ${r.records} records`);
    }
  }
  // Nothing tells these invocations' billed time: they are in no total above.
  const unbilled = a.runs.reduce((s, r) => s + r.reachedUnbilled, 0);
  L.push(
    `  Reached, no REPORT and no record: ${unbilled}${unbilled === 0 ? "" : " invocations, billed 0 ms (their cost is unknown):"}`,
  );
  for (const r of a.runs.filter((x) => x.reachedUnbilled > 0)) {
    L.push(`    ${r.runId} ${r.cellId}: ${r.reachedUnbilled} of ${r.expected} reached`);
  }
  return L;
}
