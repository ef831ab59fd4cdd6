import { cellId, parseCellId, type Workload } from "../core/cell";
import type { CellStats } from "./cells";
import { pairDiffers } from "./compare";
import type { LoadModel } from "./load-model";
import { nonBindingLevels, offeredConcurrency } from "./load-model";
import type { Analysis } from "./model";
import type { WorkloadPick } from "./pick";

/** Pairs of eligible cells that differ only in non-binding reserved-concurrency levels. */
export function sameTreatmentPairs(
  p: WorkloadPick,
  same: readonly number[],
): { compared: number; different: number } {
  const ids = p.comparison.cells.map((c) => c.cellId);
  let compared = 0;
  let different = 0;
  // Every other factor is the key: the id of the cell at reserved concurrency 0.
  const parse = (id: string): { key: string; rc: number } | undefined => {
    const cell = parseCellId(id);
    return cell === undefined
      ? undefined
      : { key: cellId({ ...cell, reservedConcurrency: 0 }), rc: cell.reservedConcurrency };
  };
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const x = parse(ids[i] ?? "");
      const y = parse(ids[j] ?? "");
      if (x === undefined || y === undefined || x.key !== y.key) continue;
      if (!same.includes(x.rc) || !same.includes(y.rc)) continue;
      const d = pairDiffers(p.comparison, ids[i] ?? "", ids[j] ?? "");
      if (d === undefined) continue;
      compared++;
      if (d) different++;
    }
  }
  return { compared, different };
}

/** The offered load of a workload and which reserved-concurrency levels do not bind at it. */
export interface LoadTreatment {
  readonly offered: number;
  readonly meanServiceMs: number;
  readonly levels: number[];
  /** Non-binding levels: the same treatment at the offered concurrency. */
  readonly same: number[];
}

/**
 * Offered concurrency of a workload (closed loop: C; open loop: arrival rate × mean service
 * time, the mean latency of its cells' successful invocations in the measured trials, the
 * cells' own `meanMs`) and its non-binding levels.
 */
export function loadTreatment(
  cells: readonly CellStats[],
  load: LoadModel,
  workload: Workload,
  invocationsPerRun: number,
): LoadTreatment {
  const mine = cells.filter((c) => c.workload === workload);
  const service = mine.map((c) => c.meanMs).filter(Number.isFinite);
  const meanServiceMs =
    service.length > 0 ? service.reduce((x, y) => x + y, 0) / service.length : Number.NaN;
  const offered = offeredConcurrency(load, workload, meanServiceMs, invocationsPerRun);
  const levels = [...new Set(mine.map((c) => c.reservedConcurrency))].sort((x, y) => x - y);
  return { offered, meanServiceMs, levels, same: nonBindingLevels(levels, offered) };
}

/** {@link loadTreatment} of a pick's workload, with its same-treatment pairs compared. */
export function rcTreatment(
  a: Analysis,
  p: WorkloadPick,
): LoadTreatment & { pairs: { compared: number; different: number } } {
  const t = loadTreatment(a.cells, a.load, p.workload, a.manifest.invocations[p.workload]);
  return { ...t, pairs: sameTreatmentPairs(p, t.same) };
}
