/** The report's charts: main effects, warm p95 heat maps, throughput vs memory, cost vs p95. */
import { type Workload, workloadSpec } from "../core/workloads";
import type { Recommendation } from "./best-cells";
import type { CellStats } from "./cells";
import { factorNames } from "./effects";
import type { Analysis } from "./model";
import { heatMap, lineChart, scatterChart } from "./svg";

function sizeLabel(workload: Workload, size: number): string {
  return `${size} ${workloadSpec(workload).factor.short}`;
}

function rcLabel(rc: number): string {
  return rc === 0 ? "unreserved" : `rc ${rc}`;
}

/** Main-effect line charts of one workload (warm p95 and throughput per factor level). */
export function effectCharts(a: Analysis, w: Workload): string {
  const out: string[] = [];
  for (const me of a.mainEffects.filter((m) => m.workload === w)) {
    out.push(
      lineChart({
        id: `effect-${w}-${me.factor}-p95`,
        title: `${w}: p95 by ${me.factor}`,
        xLevels: me.levels.map((l) => String(l.level)),
        series: [{ name: "p95", values: me.levels.map((l) => l.p95GeoMeanMs) }],
        xLabel: me.factor,
        yLabel: "warm p95, ms (geometric mean)",
        zero: true,
      }),
    );
  }
  for (const me of a.mainEffects.filter((m) => m.workload === w)) {
    out.push(
      lineChart({
        id: `effect-${w}-${me.factor}-throughput`,
        title: `${w}: throughput by ${me.factor}`,
        xLevels: me.levels.map((l) => String(l.level)),
        series: [{ name: "throughput", values: me.levels.map((l) => l.throughputMean) }],
        xLabel: me.factor,
        yLabel: "objects/s (mean)",
        zero: true,
      }),
    );
  }
  return `<div class="grid">${out.join("")}</div>`;
}

function uniq(values: readonly number[]): number[] {
  return [...new Set(values)].sort((x, y) => x - y);
}

/** Heat map of one workload's warm p95 per cell (memory · rc × size factor). */
export function heat(a: Analysis, w: Workload): string {
  const mine = a.cells.filter((c) => c.workload === w);
  const mems = uniq(mine.map((c) => c.memoryMb));
  const rcs = uniq(mine.map((c) => c.reservedConcurrency));
  const sizes = uniq(mine.map((c) => c.size));
  const rows: string[] = [];
  const values: number[][] = [];
  for (const m of mems) {
    for (const rc of rcs) {
      rows.push(`${m} MB · ${rcLabel(rc)}`);
      values.push(
        sizes.map(
          (s) =>
            a.units.get(
              mine.find((c) => c.memoryMb === m && c.reservedConcurrency === rc && c.size === s)
                ?.cellId ?? "",
            )?.warmP95.estimate ?? Number.NaN,
        ),
      );
    }
  }
  return heatMap({
    id: `heatmap-${w}`,
    title: `${w}: warm p95 (ms, geometric mean of runs) per cell`,
    rows,
    cols: sizes.map((s) => sizeLabel(w, s)),
    values,
    xLabel: factorNames(w)[1],
  });
}

/** Throughput vs memory of one workload, one line per size factor. */
export function throughputVsMemory(cells: readonly CellStats[], w: Workload): string {
  const mine = cells.filter((c) => c.workload === w);
  const mems = uniq(mine.map((c) => c.memoryMb));
  const sizes = uniq(mine.map((c) => c.size));
  return lineChart({
    id: `throughput-${w}`,
    title: `${w}: throughput vs memory`,
    xLevels: mems.map((m) => `${m} MB`),
    series: sizes.map((s) => ({
      name: sizeLabel(w, s),
      values: mems.map((m) => {
        const v = mine
          .filter((c) => c.memoryMb === m && c.size === s)
          .map((c) => c.throughputMean)
          .filter(Number.isFinite);
        return v.length > 0 ? v.reduce((x, y) => x + y, 0) / v.length : Number.NaN;
      }),
    })),
    xLabel: "memory (mean over reserved-concurrency levels)",
    yLabel: "objects/s",
    zero: true,
  });
}

/** Cost per invocation vs mean p95 of one workload's cells, Pareto front highlighted. */
export function costScatter(a: Analysis, r: Recommendation): string {
  const front = new Set(r.pareto.map((c) => c.cellId));
  const out = new Set(r.ineligible.map((x) => x.cell.cellId));
  return scatterChart({
    id: `pareto-${r.workload}`,
    title: `${r.workload}: cost vs p95 (orange: Pareto front${out.size > 0 ? ", grey: excluded" : ""})`,
    points: a.cells
      .filter((c) => c.workload === r.workload)
      .map((c) => ({
        x: c.p95Mean,
        y: c.usdPer1000Invocations,
        label: out.has(c.cellId) ? `${c.cellId} (not considered)` : c.cellId,
        highlight: front.has(c.cellId),
        muted: out.has(c.cellId),
        tag: `${c.memoryMb}/${workloadSpec(c.workload).factor.tag}${c.size}/rc${c.reservedConcurrency}`,
      })),
    xLabel: "mean p95, ms",
    yLabel: "$ per 1,000 invocations",
  });
}
