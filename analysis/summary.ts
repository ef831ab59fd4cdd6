import { hasAnova } from "./anova";
import type { CellStats } from "./cells";
import { formatNumber } from "./csv";
import { MAX_LOST_SHARE } from "./eligibility";
import { isMeasured } from "./frame";
import { formatPrecision } from "./intervals";
import { throttleBasis } from "./load-model";
import type { ExcludedRun } from "./loaded-run";
import type { Analysis } from "./model";
import { cellVerdict } from "./pick";
import { bindingNote } from "./report-answer";
import type { RunStats } from "./runs";
import { rcTreatment } from "./treatments";

function ms(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)} ms` : "n/a";
}

function num(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

function usd(x: number): string {
  return Number.isFinite(x) ? `$${x < 0.01 ? x.toPrecision(3) : x.toFixed(4)}` : "n/a";
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "n/a";
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
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

function usdUnit(x: number): string {
  return Number.isFinite(x) ? `$${x.toPrecision(3)}` : "n/a";
}

/**
 * The answer per workload (best set and pick per unit of work), the per-cell warm and cold
 * figures, and which reserved-concurrency levels are the same treatment at the offered load.
 */
function answerSection(a: Analysis): string[] {
  const L: string[] = [];
  const strategy =
    a.strategy === "balanced" ? `balanced, cost weight ${a.balancedWeight}` : a.strategy;
  L.push(`Answer (strategy ${strategy}; per unit of work; warm invocations of measured trials)`);
  for (const p of a.picks) L.push(`  ${p.oneLine}`);
  for (const p of a.picks) {
    L.push(`  ${p.workload}: basis ${p.basis}`);
    L.push(`    ${p.why}`);
    L.push(
      `    ${pad("cell", 30)} ${pad("unit latency (95% CI)", 28)} ${pad("precision", 18)} ${pad("ratio to best (CI)", 22)} ${pad("$ per unit", 18)} throughput`,
    );
    const byId = new Map(p.comparison.cells.map((c) => [c.cellId, c]));
    for (const c of p.comparison.cells) {
      const u = a.units.get(c.cellId);
      if (u === undefined) continue;
      const i = u.unitLatency;
      const verdict = cellVerdict(p, c.cellId);
      const mark =
        verdict === "slower" ? "  (slower: excluded)" : verdict === "pick" ? "  ← pick" : "";
      const r = byId.get(c.cellId);
      L.push(
        `    ${pad(c.cellId, 30)} ${pad(`${ms(i.estimate)} (${num(i.low, 1)}–${num(i.high, 1)})`, 28)} ${pad(formatPrecision(i), 18)} ${pad(`${num(r?.ratioToBest ?? Number.NaN)} (${num(r?.ratioLow ?? Number.NaN)}–${num(r?.ratioHigh ?? Number.NaN)})`, 22)} ${pad(`${usdUnit(u.costPerUnit)} / ${u.costUnit}`, 18)} ${num(u.throughputPerUnit)} ${u.throughputUnit}${mark}`,
      );
    }
    const sig = p.factors
      .map(
        (f) => `${f.factor} p(Holm) = ${Number.isFinite(f.pHolm) ? f.pHolm.toPrecision(2) : "n/a"}`,
      )
      .join(", ");
    L.push(`    main effects on ln unit latency (trial as block): ${sig}`);
    const { offered, levels, same, pairs } = rcTreatment(a, p);
    L.push(
      `    reserved concurrency at offered concurrency ${num(offered, 1)}: ${same.length > 1 ? `${same.map((rc) => (rc === 0 ? "rc 0 (unreserved)" : `rc ${rc}`)).join(" and ")} are the same treatment (the limit does not bind); same-treatment pairs: ${pairs.compared} compared, ${pairs.different} significantly different` : "every level is a different treatment"}; binding: ${
        levels
          .filter((rc) => !same.includes(rc))
          .map((rc) => `rc ${rc}`)
          .join(", ") || "none"
      }`,
    );
  }
  L.push(
    "  Effects on ln warm p95 as ratios to the grand geometric mean (95% CI), Holm-adjusted p:",
  );
  for (const e of a.effectRatios) {
    const levels = e.levels
      .map((l) => `${l.level}: ${num(l.ratio)}× (${num(l.low)}–${num(l.high)})`)
      .join("; ");
    const p = Number.isFinite(e.pHolm) ? e.pHolm.toPrecision(2) : "n/a";
    L.push(`    ${e.workload} ${pad(e.factor, 22)} p = ${pad(p, 8)} ${levels}`);
    if (e.factor === "reserved_concurrency") L.push(`      ${bindingNote(a, e.workload).slice(2)}`);
  }
  L.push(`  Throttle rate: ${throttleBasis(a.load)}.`);
  L.push("");
  L.push("Warm and cold per cell (warm = measured trials, cold_start false; cold incl. warm-up)");
  L.push(
    `  ${pad("cell", 30)} ${pad("warm p50", 10)} ${pad("warm p95 (95% CI)", 26)} ${pad("warm p99", 10)} ${pad("cold", 5)} ${pad("cold rate*", 10)} ${pad("INIT p50", 10)} client cold p50`,
  );
  for (const c of a.cells) {
    const u = a.units.get(c.cellId);
    if (u === undefined) continue;
    L.push(
      `  ${pad(c.cellId, 30)} ${pad(ms(u.warmP50MeanMs), 10)} ${pad(`${ms(u.warmP95.estimate)} (${num(u.warmP95.low, 1)}–${num(u.warmP95.high, 1)})`, 26)} ${pad(ms(u.warmP99MeanMs), 10)} ${pad(String(u.cold.coldStarts), 5)} ${pad(pct(u.cold.measuredColdRate, 1), 10)} ${pad(ms(u.cold.initMedianMs), 10)} ${ms(u.cold.coldClientMedianMs)}`,
    );
  }
  L.push(
    "  * cold rate = cold starts in measured trials ÷ their records (what the warm-up did not absorb)",
  );
  return L;
}

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
