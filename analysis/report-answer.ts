import { type Workload, workloadSpec } from "../core/workloads";
import type { Recommendation } from "./best-cells";
import type { IneligibleCode } from "./eligibility";
import { formatPrecision } from "./intervals";
import { throttleBasis } from "./load-model";
import type { Analysis } from "./model";
import { cellVerdict, type WorkloadPick } from "./pick";
import { esc, scatterChart, short } from "./svg";
import { rcTreatment } from "./treatments";

/** True when a workload's unit is bytes: its table shows each invocation's MB/s. */
function perInvocationRate(workload: Workload): boolean {
  return workloadSpec(workload).unit.quantity === "bytes";
}

function ms(x: number): string {
  return Number.isFinite(x) ? `${short(x)} ms` : "n/a";
}

function usd(x: number): string {
  return Number.isFinite(x) ? `$${x.toPrecision(3)}` : "n/a";
}

function strategyText(a: Analysis): string {
  return a.strategy === "balanced"
    ? `balanced (Power Tuning's value w·cost/max cost + (1 − w)·latency/max latency, cost weight w = ${a.balancedWeight})`
    : a.strategy === "cost"
      ? "cost (cheapest per unit of work)"
      : "speed (lowest per-unit latency)";
}

/** "6 throttled > 5%, 1 cell failed or unfinished" style tally of why cells were left out. */
function summariseReasons(r: Recommendation): string {
  const count = (...codes: IneligibleCode[]): number =>
    r.ineligible.filter((x) => x.codes.some((code) => codes.includes(code))).length;
  const parts: [number, string][] = [
    [count("throttled"), "throttled > 5%"],
    [count("invocations-failed", "no-success"), "errors > 5%"],
    [count("records-missing"), "records missing > 5%"],
    [count("cell-failed", "cell-unfinished"), "cell failed or unfinished"],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(", ");
}

/** The headline card: per workload the one-line answer, its basis, uncertainty and strategy. */
export function answerHeadline(a: Analysis): string {
  const items = a.picks.map((p) => {
    const r = a.recommendations.find((x) => x.workload === p.workload);
    const skipped =
      r === undefined || r.ineligible.length === 0
        ? ""
        : `<br><span class="muted">Not considered: ${r.ineligible.length} cells (${esc(summariseReasons(r))}) — never recommended, see Best cells per invocation.</span>`;
    return `<li><b>${esc(p.oneLine)}</b><br><span class="muted">Basis: ${esc(p.basis)}. Uncertainty: ${esc(p.why)}.</span>${skipped}</li>`;
  });
  return `<div class="headline" id="answer"><h2 style="margin-top:4px;border:0">Recommendation</h2>
<p>Strategy: <b>${esc(strategyText(a))}</b>, chosen within each workload's <b>best set</b>: the cells whose per-unit warm latency is not significantly worse than the best cell's by more than 10% (simultaneous 95% intervals: the wider of Tukey HSD with trials as blocks and Games–Howell). Only factors with a significant effect, or that change the price of a unit of work under this strategy, are named.</p>
<ul>${items.join("")}</ul></div>`;
}

function bestSetTable(a: Analysis, p: WorkloadPick): string {
  const rows = p.comparison.cells.map((c) => {
    const u = a.units.get(c.cellId);
    if (u === undefined) return "";
    const i = u.unitLatency;
    const verdict = cellVerdict(p, c.cellId);
    const status =
      verdict === "slower" ? "slower (excluded)" : verdict === "pick" ? "<b>pick</b>" : "best set";
    return `<tr${c.worse ? ' class="warn"' : ""}><td class="l">${esc(c.cellId)}</td><td class="l">${status}</td><td>${ms(i.estimate)}</td><td>${ms(i.low)}–${ms(i.high)}</td><td>${esc(formatPrecision(i))}</td><td>${short(c.ratioToBest)} (${short(c.ratioLow)}–${c.ratioHigh === Number.POSITIVE_INFINITY ? "∞" : short(c.ratioHigh)})</td><td>${ms(u.warmP95.estimate)}</td><td>${ms(u.batchWaitMs)}</td><td>${usd(u.costPerUnit)} / ${u.costUnit}</td><td>${short(u.throughputPerUnit)} ${u.throughputUnit}</td>${perInvocationRate(p.workload) ? `<td>${short(u.mbPerSPerInvocation)}</td>` : ""}</tr>`;
  });
  const factors = p.factors
    .map(
      (f) =>
        `${esc(f.factor)}: p(Holm) = ${Number.isFinite(f.pHolm) ? f.pHolm.toPrecision(2) : "n/a"}`,
    )
    .join("; ");
  return `<h3>${p.workload}</h3><p class="muted">${esc(p.comparison.method)}; error df ${Number.isFinite(p.comparison.df) ? p.comparison.df : "n/a"}. Main effects on ln per-unit latency (trial as block, Holm-adjusted over the three factors): ${factors}.</p>
<table><tr><th class="l">cell</th><th class="l">status</th><th>per-unit latency</th><th>95% CI</th><th>achieved precision</th><th>× best (simultaneous CI)</th><th>warm p95 per invocation</th><th>batch wait</th><th>cost per unit</th><th>throughput</th>${perInvocationRate(p.workload) ? "<th>MB/s per invocation</th>" : ""}</tr>${rows.join("")}</table>`;
}

/** Reserved-concurrency levels that are the same treatment at the offered concurrency. */
function rcTreatments(a: Analysis, p: WorkloadPick): string {
  const mine = a.cells.filter((c) => c.workload === p.workload);
  const { offered, meanServiceMs: meanService, levels, same, pairs } = rcTreatment(a, p);
  const binding = levels.filter((rc) => !same.includes(rc));
  const throttles = mine
    .map(
      (c) =>
        `<tr><td class="l">${esc(c.cellId)}</td><td>${c.reservedConcurrency === 0 ? "unreserved" : c.reservedConcurrency}</td><td>${same.includes(c.reservedConcurrency) ? "no" : "yes"}</td><td>${c.throttles} / ${c.invocations}</td><td>${c.invocations > 0 ? `${((100 * c.throttles) / c.invocations).toFixed(1)}%` : "n/a"}</td></tr>`,
    )
    .join("");
  const pairText =
    pairs.compared === 0
      ? ""
      : ` Same-treatment pairs (cells that differ only in a non-binding level): ${pairs.compared} compared, <b>${pairs.different}</b> significantly different (Tukey, 10% margin).`;
  return `<li>${p.workload}: offered concurrency ${short(offered)}${a.load.model === "open" ? ` (arrival rate ${a.load.arrivalRatePerS}/s × mean service ${ms(meanService)})` : ` (closed loop, C = ${a.load.concurrency[p.workload]})`}; ${same.length > 1 ? `${same.map((rc) => (rc === 0 ? "rc 0 (unreserved)" : `rc ${rc}`)).join(" and ")} are <b>the same treatment</b> (the limit never binds)` : "no two levels coincide"}${binding.length > 0 ? `; ${binding.map((rc) => `rc ${rc}`).join(", ")} binds: fewer requests in flight, the rest throttled` : ""}.${pairText}<table><tr><th class="l">cell</th><th>reserved</th><th>binds at offered load</th><th>throttled / invocations</th><th>throttle rate</th></tr>${throttles}</table></li>`;
}

/** Warm and cold figures per cell. */
function warmColdTable(a: Analysis): string {
  const rows = a.cells.map((c) => {
    const u = a.units.get(c.cellId);
    if (u === undefined) return "";
    const k = u.cold;
    return `<tr><td class="l">${esc(c.cellId)}</td><td>${u.warmRuns}</td><td>${ms(u.warmP50MeanMs)}</td><td>${ms(u.warmP95.estimate)}</td><td>${ms(u.warmP95.low)}–${ms(u.warmP95.high)}</td><td>${ms(u.warmP99MeanMs)}</td><td>${k.coldStarts}</td><td>${k.warmupColdStarts}</td><td>${Number.isFinite(k.measuredColdRate) ? `${(100 * k.measuredColdRate).toFixed(1)}%` : "n/a"}</td><td>${ms(k.initMedianMs)}</td><td>${ms(k.coldClientMedianMs)}</td><td>${ms(k.coldClientP95Ms)}</td></tr>`;
  });
  return `<table><tr><th class="l">cell</th><th>warm runs</th><th>warm p50</th><th>warm p95 (geo. mean)</th><th>95% CI</th><th>warm p99</th><th>cold starts</th><th>of which warm-up</th><th>cold rate in measured trials</th><th>INIT p50</th><th>client cold p50</th><th>client cold p95</th></tr>${rows.join("")}</table>`;
}

/** Cost per unit vs per-unit latency, every point labelled; best-set points highlighted. */
export function unitScatter(a: Analysis, p: WorkloadPick): string {
  const members = new Set(p.members.map((m) => m.cell.cellId));
  return scatterChart({
    id: `unit-cost-${p.workload}`,
    title: `${p.workload}: cost per ${workloadSpec(p.workload).unit.cost} vs per-unit latency (orange: best set)`,
    points: p.comparison.cells.flatMap((c) => {
      const u = a.units.get(c.cellId);
      if (u === undefined) return [];
      const rc = u.cell.reservedConcurrency;
      return [
        {
          x: u.unitLatency.estimate,
          y: u.costPerUnit,
          label: c.cellId,
          highlight: members.has(c.cellId),
          tag: `${u.cell.memoryMb}/${workloadSpec(p.workload).factor.tag}${u.cell.size}/rc${rc}`,
        },
      ];
    }),
    xLabel: "per-unit latency, ms",
    yLabel: `$ per ${workloadSpec(p.workload).unit.cost}`,
  });
}

/** The answer section: best sets, reserved-concurrency treatments, throttle basis, warm/cold. */
export function answerSection(a: Analysis): string {
  return `<h2 id="best-set">Best set and pick, per unit of work</h2>
<p>A <b>replicate</b> is one run (trial) of a cell: its invocations share environments and time, so they are not independent replicates. Per run, warm p95 is taken over the warm invocations (measured trials, <code>cold_start</code> false); the cell's figure is the geometric mean of its runs' values with a t interval on their logarithms.</p>
${a.picks.map((p) => bestSetTable(a, p)).join("")}
<div class="grid">${a.picks.map((p) => unitScatter(a, p)).join("")}</div>
<h3>Reserved concurrency and load</h3><ul>${a.picks.map((p) => rcTreatments(a, p)).join("")}</ul>
<p>Throttle rate: ${esc(throttleBasis(a.load))}.</p>
<h2 id="warm-cold">Warm latency and cold starts</h2>${warmColdTable(a)}`;
}

/**
 * Why a reserved-concurrency effect is not a setting to choose: binding levels change how many
 * requests are in flight (the rest are throttled), non-binding ones are the same treatment.
 */
export function bindingNote(a: Analysis, workload: string): string {
  const p = a.picks.find((x) => x.workload === workload);
  if (p === undefined) return "";
  const t = rcTreatment(a, p);
  const binding = t.levels.filter((rc) => !t.same.includes(rc));
  return binding.length === 0
    ? `; no level binds at offered concurrency ${short(t.offered)}: every level is the same treatment`
    : `; ${binding.map((rc) => `rc ${rc}`).join(", ")} binds at offered concurrency ${short(t.offered)}: fewer requests in flight and the rest throttled — a different load, not a faster setting`;
}

/** Main effects as ratios of geometric means to the grand geometric mean, with 95% CIs. */
export function ratioTable(a: Analysis, workload: string): string {
  const mine = a.effectRatios.filter((e) => e.workload === workload);
  if (mine.length === 0)
    return '<p class="muted">No effect ratios: the ANOVA of ln warm p95 could not be computed (see below).</p>';
  const rows = mine.map((e) => {
    const sig = Number.isFinite(e.pHolm) && e.pHolm < 0.05;
    const levels = e.levels
      .map((l) => `${l.level}: ${short(l.ratio)}× (${short(l.low)}–${short(l.high)})`)
      .join("; ");
    const verdict = sig ? "significant" : "no significant effect: no level is named";
    return `<tr${sig ? ' class="sig"' : ""}><td class="l">${esc(e.factor)}</td><td>${Number.isFinite(e.pHolm) ? e.pHolm.toPrecision(2) : "n/a"}</td><td class="l">${esc(levels)}</td><td class="l">${esc(e.factor === "reserved_concurrency" ? `${verdict}${bindingNote(a, workload)}` : verdict)}</td></tr>`;
  });
  return `<table><tr><th class="l">factor</th><th>p (Holm)</th><th class="l">level: warm p95 ÷ grand geometric mean (95% CI)</th><th class="l">verdict</th></tr>${rows.join("")}</table>`;
}
