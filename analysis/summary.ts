import { hasAnova } from "./anova";
import { billingLines } from "./billing-lines";
import type { CellStats } from "./cells";
import { formatNumber } from "./csv";
import { MAX_LOST_SHARE } from "./eligibility";
import type { ExcludedRun } from "./loaded-run";
import type { Analysis } from "./model";
import { answerSection } from "./summary-answer";
import { ms, num, pad, pct } from "./text-format";

function usd(x: number): string {
  return Number.isFinite(x) ? `$${x < 0.01 ? x.toPrecision(3) : x.toFixed(4)}` : "n/a";
}

function cellLabel(c: CellStats | undefined): string {
  return c === undefined ? "n/a" : c.cellId;
}

/**
 * Runs left out (discarded by --resume, or never harvested) and cells whose journal did not end
 * `done`: how many, why, and how many lines were skipped for them.
 */
function excludedSection(a: Analysis): string[] {
  const L: string[] = [];
  const discarded = a.excluded.filter((x) => x.kind === "discarded");
  const unharvested = a.excluded.filter((x) => x.kind === "not-harvested");
  const lines = (xs: readonly ExcludedRun[]): string =>
    `${xs.reduce((s, x) => s + x.invocations, 0)} invocations, ${xs.reduce((s, x) => s + x.records, 0)} records skipped`;
  L.push("Runs left out of every statistic");
  L.push(
    `  Discarded by --resume:  ${discarded.length} runs (${lines(discarded)}) — an unfinished attempt of a cell that --resume redid with new runs`,
  );
  L.push(
    `  Never harvested:        ${unharvested.length} runs (${lines(unharvested)}) — the cell failed or stopped before its records were collected`,
  );
  for (const x of a.excluded.slice(0, 20)) {
    L.push(
      `    ${x.runId} ${x.cellId} trial ${Number.isFinite(x.trial) ? x.trial : "?"}: ${x.kind}, ${x.reason}`,
    );
  }
  if (a.excluded.length > 20) L.push(`    … and ${a.excluded.length - 20} more runs`);
  const bad = [...a.outcomes].filter(([, o]) => o.status !== "done");
  L.push(
    `  Cells not done:         ${bad.length}${bad.length > 0 ? " (their harvested runs are kept and flagged; never recommended)" : ""}`,
  );
  for (const [id, o] of bad) {
    L.push(
      `    ${id}: ${o.status}${o.error === undefined ? "" : ` (${o.error})`}, ${o.keptRuns} of ${a.manifest.trials} runs kept`,
    );
  }
  const started = new Set([...a.outcomes.keys(), ...a.cells.map((c) => c.cellId)]);
  const notStarted = a.manifest.cells.filter((c) => !started.has(c.cell_id));
  L.push(
    `  Cells not started:      ${notStarted.length} of ${a.manifest.cells.length} in the manifest`,
  );
  return L;
}

/**
 * summary.txt: the seed's report (totals, performance, data transfer, function-by-function
 * breakdown) plus cold starts, record completeness, skipped lines, best cells and the ANOVA.
 */
export function renderSummary(a: Analysis): string {
  const m = a.manifest;
  const sum = (f: (c: CellStats) => number): number => a.cells.reduce((s, c) => s + f(c), 0);
  const inv = sum((c) => c.invocations);
  const ok = sum((c) => c.ok);
  const errors = sum((c) => c.errors);
  const throttles = sum((c) => c.throttles);
  const cold = sum((c) => c.coldStarts);
  const expected = sum((c) => c.expected);
  const records = sum((c) => c.records);
  const missing = sum((c) => c.missing);
  const bytes = sum((c) => c.bytesSum);
  const events = sum((c) => c.eventsSum);
  const cost = sum((c) => c.cost.total);
  const L: string[] = [];
  L.push("S3 ingestion experiment — summary");
  L.push("=".repeat(34));
  L.push(`Run directory:  ${a.dir}`);
  L.push(
    `Backend:        ${m.backend} (${m.region}, ${m.architecture}), created ${m.created_at ?? "?"}`,
  );
  L.push(
    `Runs:           ${a.runs.length} in ${a.cells.length} cells (trials per cell: ${m.trials})`,
  );
  for (const note of a.localNotes) L.push(`Local caveat:   ${note}`);
  L.push("");
  L.push("Overall statistics");
  L.push(`  Total invocations:      ${inv}`);
  L.push(`  Successful:             ${ok} (${pct(ok, inv)})`);
  L.push(`  Failed:                 ${errors} (${pct(errors, inv)})`);
  L.push(`  Throttled (HTTP 429):   ${throttles} (${pct(throttles, inv)})`);
  L.push(`  Cold starts:            ${cold} (${pct(cold, records)} of records)`);
  L.push("");
  L.push("Performance statistics (successful invocations, all runs pooled)");
  L.push(`  Average latency:        ${ms(a.overall.meanMs)}`);
  L.push(`  p50 latency:            ${ms(a.overall.p50Ms)}`);
  L.push(`  p95 latency:            ${ms(a.overall.p95Ms)}`);
  L.push(`  p99 latency:            ${ms(a.overall.p99Ms)}`);
  L.push("");
  L.push("Data transfer statistics");
  L.push(`  Bytes written:          ${bytes} (${num(bytes / 1024 ** 3, 3)} GiB)`);
  L.push(`  Objects written:        ${ok}`);
  L.push(`  Events generated:       ${events}`);
  L.push(
    `  Estimated cost:         ${usd(cost)} (prices ${a.pricing.region}, as of ${a.pricing.asOf})`,
  );
  L.push("");
  L.push(...billingLines(a));
  L.push("");
  L.push(
    "Record completeness (expected = invocations that reached the function and got a response)",
  );
  L.push(`  Expected records:       ${expected}`);
  L.push(`  Records found:          ${records} (${pct(records, expected)})`);
  L.push(`  Missing records:        ${missing}`);
  if (!a.hasInvocations) L.push("  (invocations.jsonl absent: expected = records found)");
  const incomplete = a.runs.filter((r) => r.missing > 0);
  for (const r of incomplete.slice(0, 20)) {
    L.push(`    ${r.runId} ${r.cellId} trial ${r.trial}: ${r.records}/${r.expected}`);
  }
  if (incomplete.length > 20) L.push(`    … and ${incomplete.length - 20} more runs`);
  L.push("");
  const s = a.skipped;
  L.push("Skipped lines (counted, not fatal)");
  L.push(
    `  records.jsonl:          ${s.recordsMalformed} malformed, ${s.recordsForeign} foreign run, ${s.recordsDuplicate} duplicate, ${s.recordsOutOfBounds} out of bounds`,
  );
  L.push(
    `  invocations.jsonl:      ${s.invocationsMalformed} malformed, ${s.invocationsDuplicate} duplicate, ${s.invocationsOutOfBounds} out of bounds`,
  );
  for (const [reason, n] of Object.entries(s.outOfBoundsReasons).sort()) {
    L.push(`    ${n} × ${reason}`);
  }
  L.push(`  journal.jsonl:          ${s.journalMalformed} malformed`);
  if (a.unassigned.length > 0)
    L.push(`  runs without a known cell (left out): ${a.unassigned.join(", ")}`);
  L.push(...excludedSection(a));
  L.push("");
  L.push(
    "Function-by-function performance breakdown (measured trials; p95 and p99: means of the per-run values, as p95.csv)",
  );
  const head = `  ${pad("function", 44)} ${pad("inv", 6)} ${pad("ok", 6)} ${pad("err", 5)} ${pad("thr", 5)} ${pad("cold", 5)} ${pad("mean", 10)} ${pad("p95", 10)} ${pad("p99", 10)} obj/s`;
  L.push(head);
  for (const c of a.cells) {
    L.push(
      `  ${pad(c.functionName || c.cellId, 44)} ${pad(String(c.invocations), 6)} ${pad(String(c.ok), 6)} ${pad(String(c.errors), 5)} ${pad(String(c.throttles), 5)} ${pad(String(c.coldStarts), 5)} ${pad(ms(c.meanMs), 10)} ${pad(ms(c.p95Mean), 10)} ${pad(ms(c.p99Mean), 10)} ${num(c.throughputMean)}`,
    );
  }
  L.push("");
  L.push(...answerSection(a));
  L.push("");
  L.push("Best cells per workload, per invocation (means over trials; not the pick)");
  for (const r of a.recommendations) {
    L.push(`  ${r.workload}:`);
    L.push(
      `    lowest p95:        ${cellLabel(r.fastest)} (${ms(r.fastest?.p95Mean ?? Number.NaN)})`,
    );
    L.push(
      `    highest throughput:${" "}${cellLabel(r.highestThroughput)} (${num(r.highestThroughput?.throughputMean ?? Number.NaN)} obj/s)`,
    );
    L.push(
      `    lowest cost:       ${cellLabel(r.cheapest)} (${usd(r.cheapest?.usdPer1000Invocations ?? Number.NaN)} per 1,000 invocations)`,
    );
    L.push(`    Pareto (cost vs p95): ${r.pareto.map((c) => c.cellId).join(", ") || "n/a"}`);
    if (r.ineligible.length > 0) {
      L.push(
        `    not considered (> ${100 * MAX_LOST_SHARE}% lost, or cell failed): ${r.ineligible.length} cells`,
      );
      for (const x of r.ineligible) L.push(`      ${x.cell.cellId}: ${x.reason}`);
    }
  }
  L.push("");
  L.push(
    "Factorial ANOVA of ln warm p95 and throughput (per workload; a replicate is one run of a cell in one trial; trial as block; residual = three-way + error)",
  );
  for (const e of a.effects) {
    L.push(
      `  ${e.workload} — ${e.response === "log_p95" ? "ln(p95 per run)" : "throughput per run"}`,
    );
    if (!hasAnova(e.result)) {
      L.push(`    not computed: ${e.result.reason}`);
      continue;
    }
    for (const note of e.result.notes) L.push(`    note: ${note}`);
    L.push(`    ${pad("term", 36)} ${pad("SS", 14)} ${pad("df", 4)} ${pad("F", 10)} p`);
    for (const row of e.result.rows) {
      L.push(
        `    ${pad(row.term, 36)} ${pad(formatNumber(Number(row.ss.toPrecision(6))), 14)} ${pad(String(row.df), 4)} ${pad(Number.isFinite(row.f) ? row.f.toFixed(2) : "", 10)} ${Number.isFinite(row.p) ? row.p.toExponential(2) : ""}`,
      );
    }
  }
  L.push("");
  L.push(
    "Definitions: percentiles by linear interpolation between closest ranks; throughput window =",
  );
  L.push(
    "max(ts_end_ms) − min(ts_start_ms) over a run's successful records (one record: its latency);",
  );
  L.push("failed invocations are counted and excluded from latency percentiles.");
  return `${L.join("\n")}\n`;
}
