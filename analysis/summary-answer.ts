/** summary.txt's answer section: the pick per workload, effect ratios, warm and cold per cell. */
import { formatPrecision } from "./intervals";
import { throttleBasis } from "./load-model";
import type { Analysis } from "./model";
import { cellVerdict } from "./pick";
import { bindingNote } from "./report-answer";
import { ms, num, pad, pct } from "./text-format";
import { rcTreatment } from "./treatments";

function usdUnit(x: number): string {
  return Number.isFinite(x) ? `$${x.toPrecision(3)}` : "n/a";
}

/**
 * The answer per workload (best set and pick per unit of work), the per-cell warm and cold
 * figures, and which reserved-concurrency levels are the same treatment at the offered load.
 */
export function answerSection(a: Analysis): string[] {
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
