import type { Analysis } from "./analyze";
import { pairDiffers } from "./compare";
import { nonBindingLevels, offeredConcurrency } from "./load-model";
import type { WorkloadPick } from "./pick";

/** Pairs of eligible cells that differ only in non-binding reserved-concurrency levels. */
export function sameTreatmentPairs(
  p: WorkloadPick,
  same: readonly number[],
): { compared: number; different: number } {
  const ids = p.comparison.cells.map((c) => c.cellId);
  let compared = 0;
  let different = 0;
  // Cell ids end in -rc<level>: the rest of the id is every other factor.
  const parse = (id: string): { key: string; rc: number } | undefined => {
    const m = /^(.*)-rc(\d+)$/.exec(id);
    return m === null ? undefined : { key: m[1] ?? "", rc: Number(m[2]) };
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

/** Offered concurrency of a workload and its non-binding (same-treatment) rc levels. */
export function rcTreatment(
  a: Analysis,
  p: WorkloadPick,
): {
  offered: number;
  meanServiceMs: number;
  levels: number[];
  same: number[];
  pairs: { compared: number; different: number };
} {
  const mine = a.cells.filter((c) => c.workload === p.workload);
  const service = mine
    .map((c) => a.byCell.get(c.cellId)?.meanMs ?? Number.NaN)
    .filter(Number.isFinite);
  const meanServiceMs =
    service.length > 0 ? service.reduce((x, y) => x + y, 0) / service.length : Number.NaN;
  const offered = offeredConcurrency(a.load, meanServiceMs);
  const levels = [...new Set(mine.map((c) => c.reservedConcurrency))].sort((x, y) => x - y);
  const same = nonBindingLevels(levels, offered);
  return { offered, meanServiceMs, levels, same, pairs: sameTreatmentPairs(p, same) };
}
