import type { Workload } from "../core/workloads";
import { factorialAnova, hasAnova, holm } from "./anova";
import { factorNames, levelsOf } from "./effects";
import type { FactorSignificance } from "./pick";
import type { RunStats } from "./runs";
import type { CellUnits } from "./units";

/**
 * Main-effect significance of each factor on the per-unit latency (ln, per measured run, trial
 * as block), Holm-adjusted over the three main effects.
 */
export function factorSignificance(
  workload: Workload,
  measured: readonly RunStats[],
  units: ReadonlyMap<string, CellUnits>,
): FactorSignificance[] {
  const names = factorNames(workload);
  const obs = measured
    .filter((r) => r.workload === workload)
    .map((r) => {
      const u = units.get(r.cellId);
      const y = u?.replicates.find((x) => x.trial === r.trial)?.y ?? Number.NaN;
      return { levels: levelsOf(r), y, block: r.trial };
    });
  const res = factorialAnova(names, obs);
  const ps = names.map((f) =>
    hasAnova(res) ? (res.rows.find((row) => row.term === f)?.p ?? Number.NaN) : Number.NaN,
  );
  const adj = holm(ps);
  return names.map((factor, i) => ({ factor, pHolm: adj[i] ?? Number.NaN }));
}
