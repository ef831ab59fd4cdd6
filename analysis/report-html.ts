import { CELL_LOG_FORMAT } from "../core/lambda-logs";
import type { Workload } from "../core/workloads";
import { hasAnova } from "./anova";
import { billingLines } from "./billing-lines";
import { PLATFORM_LOG_BYTES } from "./cost";
import { JOURNAL_CODES, MAX_LOST_SHARE } from "./eligibility";
import type { ExcludedRun } from "./loaded-run";
import type { Analysis } from "./model";
import { answerHeadline, answerSection, ratioTable } from "./report-answer";
import { costScatter, effectCharts, heat, throughputVsMemory } from "./report-charts";
import { esc, short } from "./svg";

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;max-width:1180px;margin:0 auto;padding:24px;background:#fafafa}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}.muted{color:#666}.headline{background:#fff;border:1px solid #ddd;border-left:5px solid #0072B2;padding:12px 18px;border-radius:6px}
.headline li{margin:6px 0}.grid{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #e3e3e3;border-radius:6px}
.chart text{font:11px system-ui,sans-serif;fill:#333}.chart .ctitle{font-size:12px;font-weight:600}.chart .axis{font-size:11px;fill:#555}.chart .cell{font-size:11px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}th,td{border:1px solid #e0e0e0;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td.l,th.l{text-align:left}tr.warn td{background:#fff4e5}.sig{font-weight:600}code{background:#f0f0f0;padding:1px 4px;border-radius:3px}
.warn-note{background:#fff4e5;border-left:4px solid #E69F00;padding:8px 12px}.formula{background:#fff;border:1px solid #e3e3e3;padding:10px 16px;border-radius:6px}`;

function ms(x: number): string {
  return Number.isFinite(x) ? `${short(x)} ms` : "n/a";
}

function usd(x: number): string {
  return Number.isFinite(x) ? `$${x.toPrecision(3)}` : "n/a";
}

/** A unit price in plain decimals (no 2.0000000000000002e-7): six significant digits. */
export function price(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return String(x);
  const digits = Math.min(20, Math.max(2, 5 - Math.floor(Math.log10(x))));
  return x.toFixed(digits).replace(/\.?0+$/, "");
}

function num(x: number, d = 3): string {
  return Number.isFinite(x) ? x.toPrecision(d) : "";
}

function anovaTables(a: Analysis): string {
  const out: string[] = [];
  for (const e of a.effects) {
    out.push(
      `<h3>${e.workload} — ${e.response === "log_p95" ? "ln(p95 latency) per run" : "throughput per run"}</h3>`,
    );
    if (!hasAnova(e.result)) {
      out.push(`<p class="muted">Not computed: ${esc(e.result.reason)}.</p>`);
      continue;
    }
    for (const n of e.result.notes) out.push(`<p class="muted">Note: ${esc(n)}.</p>`);
    out.push(
      '<table><tr><th class="l">term</th><th>SS</th><th>df</th><th>MS</th><th>F</th><th>p</th></tr>',
    );
    for (const row of e.result.rows) {
      const sig = Number.isFinite(row.p) && row.p < 0.05 ? ' class="sig"' : "";
      out.push(
        `<tr${sig}><td class="l">${esc(row.term)}</td><td>${num(row.ss, 4)}</td><td>${row.df}</td><td>${num(row.ms, 4)}</td><td>${num(row.f)}</td><td>${Number.isFinite(row.p) ? row.p.toExponential(2) : ""}</td></tr>`,
      );
    }
    out.push("</table>");
  }
  return out.join("");
}

function completenessTable(a: Analysis): string {
  const rows = a.cells.map((c) => {
    const o = a.outcomes.get(c.cellId);
    const status =
      o === undefined ? "" : o.status === "failed" ? `failed: ${o.error ?? ""}` : o.status;
    const warn =
      c.missing > 0 || c.throttles > 0 || c.errors > 0 || (o !== undefined && o.status !== "done")
        ? ' class="warn"'
        : "";
    return `<tr${warn}><td class="l">${esc(c.cellId)}</td><td class="l">${esc(status)}</td><td>${c.runs}</td><td>${c.invocations}</td><td>${c.ok}</td><td>${c.errors}</td><td>${c.throttles}</td><td>${c.coldStarts}</td><td>${c.expected}</td><td>${c.records}</td><td>${c.missing}</td></tr>`;
  });
  const s = a.skipped;
  return `<table><tr><th class="l">cell</th><th class="l">journal</th><th>runs</th><th>invocations</th><th>ok</th><th>errors</th><th>throttles</th><th>cold starts</th><th>records expected</th><th>found</th><th>missing</th></tr>${rows.join("")}</table>
<p>Skipped lines (counted, never fatal): records.jsonl ${s.recordsMalformed} malformed, ${s.recordsForeign} of a foreign run, ${s.recordsDuplicate} duplicate, ${s.recordsOutOfBounds} outside physical bounds; invocations.jsonl ${s.invocationsMalformed} malformed, ${s.invocationsDuplicate} duplicate, ${s.invocationsOutOfBounds} outside physical bounds${
    Object.entries(s.outOfBoundsReasons).length > 0
      ? ` (${Object.entries(s.outOfBoundsReasons)
          .map(([r, n]) => `${n} × ${esc(r)}`)
          .join("; ")})`
      : ""
  }; journal.jsonl ${s.journalMalformed} malformed.${a.hasInvocations ? "" : " invocations.jsonl is absent: expected records = records found."}</p>
${excludedRuns(a)}`;
}

function excludedRuns(a: Analysis): string {
  const noData = [...a.outcomes].filter(
    ([id, o]) => o.status !== "done" && !a.cells.some((c) => c.cellId === id),
  );
  const n = (kind: ExcludedRun["kind"]): number => a.excluded.filter((x) => x.kind === kind).length;
  const head = `<p id="excluded-runs">Runs left out of every statistic: <b>${n("discarded")}</b> discarded by <code>--resume</code> (an unfinished attempt of a cell, redone with new runs) and <b>${n("not-harvested")}</b> never harvested (the cell failed or stopped before its records were collected).${noData.length > 0 ? ` Cells with no kept run: ${noData.map(([id, o]) => `${esc(id)} (${esc(o.status)}${o.error === undefined ? "" : `: ${esc(o.error)}`})`).join(", ")}.` : ""}</p>`;
  if (a.excluded.length === 0) return head;
  const rows = a.excluded.map(
    (x) =>
      `<tr><td class="l">${esc(x.runId)}</td><td class="l">${esc(x.cellId)}</td><td>${Number.isFinite(x.trial) ? x.trial : ""}</td><td class="l">${x.kind}</td><td class="l">${esc(x.reason)}</td><td>${x.invocations}</td><td>${x.records}</td></tr>`,
  );
  return `${head}<table><tr><th class="l">run</th><th class="l">cell</th><th>trial</th><th class="l">left out as</th><th class="l">reason</th><th>invocations skipped</th><th>records skipped</th></tr>${rows.join("")}</table>`;
}

/** Warns that throttled or failing cells are still in the effect plots, heat maps and ANOVA. */
function lossNote(a: Analysis): string {
  const lossy = a.recommendations.flatMap((r) =>
    r.ineligible.filter((x) => !x.codes.some((code) => JOURNAL_CODES.includes(code))),
  );
  if (lossy.length === 0) return "";
  const byReason = new Map<string, string[]>();
  for (const x of lossy) byReason.set(x.reason, [...(byReason.get(x.reason) ?? []), x.cell.cellId]);
  const groups = [...byReason].map(([reason, ids]) => `${reason}: ${ids.join(", ")}`).join("; ");
  return `<p class="warn-note"><b>Caution:</b> ${lossy.length} cells lost more than ${100 * MAX_LOST_SHARE}% of their invocations (${esc(groups)}). They stay in the plots, heat maps and ANOVA below, but their latency and throughput describe only the invocations that got through — a throttled cell runs fewer requests at once and looks faster than it is.</p>`;
}

function localCaveats(a: Analysis): string {
  const m = a.manifest;
  if (m.backend !== "local") return "";
  const local = m.local;
  const notes = [...new Set([...(local?.notes ?? []), ...a.localNotes])];
  const cpu =
    local === undefined
      ? ""
      : local.cpu_scaling_emulated
        ? "CPU scaling with memory is emulated. "
        : "CPU scaling with memory is <b>not</b> emulated, so memory's effect on latency is not AWS's. ";
  return `<div id="local-caveats"><p><b>Local backend</b>: the numbers come from an embedded S3 server and Lambda runtime on one machine, not from AWS; relative comparisons are indicative, absolute latency, throughput and cost do not transfer to AWS. ${cpu}${local === undefined ? "" : `Account concurrency emulated: ${local.account_concurrency}.`}</p>${notes.length > 0 ? `<ul class="muted">${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}</div>`;
}

function bestTable(a: Analysis): string {
  const rows = a.recommendations.map(
    (r) =>
      `<tr><td class="l">${r.workload}</td><td class="l">${esc(r.fastest?.cellId ?? "n/a")} (${ms(r.fastest?.p95Mean ?? Number.NaN)})</td><td class="l">${esc(r.highestThroughput?.cellId ?? "n/a")} (${short(r.highestThroughput?.throughputMean ?? Number.NaN)} obj/s)</td><td class="l">${esc(r.cheapest?.cellId ?? "n/a")} (${usd(r.cheapest?.usdPer1000Invocations ?? Number.NaN)} / 1,000)</td><td class="l">${r.pareto.map((c) => esc(c.cellId)).join("<br>")}</td></tr>`,
  );
  const inel = a.recommendations.flatMap((r) => r.ineligible);
  const list =
    inel.length === 0
      ? ""
      : `<p>Not considered for any pick (more than ${100 * MAX_LOST_SHARE}% of invocations throttled or failed, more than ${100 * MAX_LOST_SHARE}% of records missing, or the cell failed): their latency and cost describe only the invocations that got through.</p><table><tr><th class="l">cell</th><th class="l">reason</th></tr>${inel.map((x) => `<tr class="warn"><td class="l">${esc(x.cell.cellId)}</td><td class="l">${esc(x.reason)}</td></tr>`).join("")}</table>`;
  return `<table><tr><th class="l">workload</th><th class="l">lowest p95</th><th class="l">highest throughput</th><th class="l">lowest cost</th><th class="l">Pareto-optimal (cost vs p95)</th></tr>${rows.join("")}</table>${list}`;
}

/** Billed time: REPORT as reported, INIT apart, and records billed without REPORT data. */
function billingNote(a: Analysis): string {
  const lines = billingLines(a);
  return `<pre>${esc(lines.slice(1).join("\n"))}</pre>`;
}

/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no external resource of
 * any kind) with the headline recommendation, effect plots, heat maps, throughput and cost
 * charts, the ANOVA tables, completeness and the definitions.
 */
export function renderReport(a: Analysis): string {
  const m = a.manifest;
  const p = a.pricing;
  const workloads = a.recommendations.map((r) => r.workload);
  const perWorkload = (f: (w: Workload) => string): string => workloads.map(f).join("");
  const platformBytes =
    PLATFORM_LOG_BYTES.start + PLATFORM_LOG_BYTES.end + PLATFORM_LOG_BYTES.report;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>S3 ingestion experiment — report</title><style>${STYLE}</style></head><body>
<h1>Lambda → S3 ingestion: results</h1>
<p class="muted">${esc(m.backend)} backend · ${esc(m.region)} · ${esc(m.architecture)} · ${a.runs.length} runs in ${a.cells.length} cells · ${m.trials} trials per cell · created ${esc(String(m.created_at ?? ""))}</p>
${answerHeadline(a)}
${a.manifest.backend === "local" ? `<h2 id="caveats">Caveats</h2>${localCaveats(a)}` : ""}
${answerSection(a)}
<h2>Best cells per invocation (for reference, not the pick)</h2>${bestTable(a)}
<h2>Effect of each factor</h2>
<p>Main effects: the response averaged over the other two factors and the measured trials (warm p95 as a geometric mean, matching the ANOVA on ln warm p95). Axes start at 0, so a line's slope is not exaggerated.</p>${lossNote(a)}
${perWorkload((w) => `<h3>${w}</h3>${ratioTable(a, w)}${effectCharts(a, w)}`)}
<h2>Warm p95 latency per cell</h2><div class="grid">${perWorkload((w) => heat(a, w))}</div>
<h2>Throughput vs memory</h2><div class="grid">${perWorkload((w) => throughputVsMemory(a.cells, w))}</div>
<h2>Cost per invocation vs p95 (for reference; the pick is per unit of work above)</h2><div class="grid">${a.recommendations.map((r) => costScatter(a, r)).join("")}</div>
<h2>Factorial ANOVA</h2>
<p>Per workload, three factors (memory, size factor, reserved concurrency) with main effects and two-way interactions, and the <b>trial as a block</b> (each trial round is a block; each run is one replicate); the three-way interaction is pooled with error into the residual. Latency is analysed as <b>ln of each run's warm p95</b> (the log makes memory's multiplicative effect additive and stabilises the variance); throughput as each run's objects/s. Bold rows: p &lt; 0.05, unadjusted: with twelve tests, read them with the Holm-adjusted main effects above.</p>
${anovaTables(a)}
<h2>Completeness and throttles</h2>${completenessTable(a)}
<h2>Billing</h2>${billingNote(a)}
<h2>Definitions and formulas</h2><div class="formula">
<p><b>Percentile</b> (p50, p95, p99): linear interpolation between closest ranks (numpy/pandas default): for sorted successful latencies x₀…xₙ₋₁, h = (n−1)·p/100, value = x⌊h⌋ + (h−⌊h⌋)(x⌊h⌋+1 − x⌊h⌋). Failed invocations are counted (errors) and excluded from latency percentiles.</p>
<p><b>Throughput</b> of a run = successful records / window, window = max(ts_end_ms) − min(ts_start_ms) over its successful records (a run of one record: its latency). MB/s uses MB = 2²⁰ bytes.</p>
<p><b>Warm p95 of a cell</b>: geometric mean of its measured runs' warm p95 (warm = cold_start false, warm-up runs excluded); 95% CI = exp(mean ± t<sub>0.975, n−1</sub>·s/√n) of the ln values; achieved precision = exp(t·s/√n) − 1. <b>Per-event latency</b> = warm p95 + (B − 1)/R with R = ${a.eventRatePerS} events/s (the first event of a batch of B waits for the other B − 1). p95.csv keeps the mean and sample std of the per-run p95 (all invocations) for reference.</p>
<p><b>Records expected</b> = invocations that reached the function and got a response (not throttled, HTTP status ≠ 0). Errors = records with ok = false + invocations without a response + function errors without a record.</p>
<p><b>Cost</b> = Lambda compute Σ(billed ms)/1000 × memory MB/1024 × $${price(p.lambdaGbSecond[m.architecture])}/GB-s (${esc(m.architecture)}; billed ms = REPORT's Billed Duration as reported, which already includes INIT where Lambda bills it (on-demand ZIP functions since 2025-08-01), so INIT is never added again; an invocation without REPORT data is billed ⌈latency_ms⌉ and counted under Billing) + requests × $${price(p.lambdaRequest)} + S3 PUT-class requests × $${price(p.s3PutRequest)} (1 per events object; parts + 2 per multipart upload; failed uploads not counted) + CloudWatch Logs bytes / 2³⁰ × $${price(p.logsIngestGb)}/GB (bytes = each record's EMF line + ${platformBytes} bytes of ${esc(CELL_LOG_FORMAT)}-format system records (start, runtimeDone, report) per invocation + ${PLATFORM_LOG_BYTES.init} per cold start). Normalised per 1,000 billed invocations, per GB (2³⁰ bytes) written to S3, per 1M events.</p>
<p><b>Prices</b>: ${esc(p.region)}, as of <b>${esc(p.asOf)}</b>; sources: ${p.sources.map((s) => `<code>${esc(s)}</code>`).join(", ")}.</p>
</div>
<p class="muted">Generated by <code>npm run analyze</code> from ${esc(a.dir)}.</p>
</body></html>
`;
}
