import type { Analysis } from "./model";
import { rcTreatment } from "./treatments";
import type { CellUnits } from "./units";

function n(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function cellJson(u: CellUnits, ratio?: { r: number; low: number; high: number }) {
  return {
    cell_id: u.cell.cellId,
    memory_mb: u.cell.memoryMb,
    size_factor: u.cell.size,
    reserved_concurrency: u.cell.reservedConcurrency,
    runs: u.unitLatency.n,
    unit_latency_ms: n(u.unitLatency.estimate),
    unit_latency_ci95_ms: [n(u.unitLatency.low), n(u.unitLatency.high)],
    precision: n(u.unitLatency.precision),
    warm_p95_ms: n(u.warmP95.estimate),
    warm_p95_ci95_ms: [n(u.warmP95.low), n(u.warmP95.high)],
    batch_wait_ms: u.batchWaitMs,
    cost_usd_per_unit: n(u.costPerUnit),
    cost_unit: u.costUnit,
    throughput: n(u.throughputPerUnit),
    throughput_unit: u.throughputUnit,
    ...(ratio === undefined
      ? {}
      : { ratio_to_best: n(ratio.r), ratio_to_best_ci95: [n(ratio.low), n(ratio.high)] }),
  };
}

/**
 * recommendation.json: per workload the strategy, the basis of the comparison, the best set
 * with intervals, the pick and why — the machine-readable form of the headline.
 */
export function recommendationJson(a: Analysis) {
  return {
    schema_version: 1,
    run_dir: a.dir,
    strategy: a.strategy,
    balanced_weight: a.balancedWeight,
    event_rate_per_s: a.eventRatePerS,
    load: a.load,
    workloads: a.picks.map((p) => {
      const ratio = new Map(p.comparison.cells.map((c) => [c.cellId, c]));
      const withRatio = (u: CellUnits) => {
        const c = ratio.get(u.cell.cellId);
        return cellJson(
          u,
          c === undefined ? undefined : { r: c.ratioToBest, low: c.ratioLow, high: c.ratioHigh },
        );
      };
      const rec = a.recommendations.find((r) => r.workload === p.workload);
      const rc = rcTreatment(a, p);
      return {
        workload: p.workload,
        strategy: p.strategy,
        balanced_weight: p.strategy === "balanced" ? p.balancedWeight : null,
        basis: p.basis,
        method: p.comparison.method,
        equivalence_margin: p.comparison.margin,
        error_df: n(p.comparison.df),
        untestable: p.comparison.untestable ?? null,
        eligible_cells: p.eligible,
        significant_difference: p.separated,
        best_set: p.members.map(withRatio),
        excluded_by_test: p.comparison.cells.filter((c) => c.worse).map((c) => c.cellId),
        not_eligible: (rec?.ineligible ?? []).map((x) => ({
          cell_id: x.cell.cellId,
          codes: x.codes,
          reason: x.reason,
        })),
        factors: p.factors.map((f) => ({ factor: f.factor, p_holm: n(f.pHolm) })),
        reserved_concurrency: {
          offered_concurrency: n(rc.offered),
          same_treatment_levels: rc.same,
          same_treatment_pairs_compared: rc.pairs.compared,
          same_treatment_pairs_different: rc.pairs.different,
        },
        pick: p.pick === undefined ? null : withRatio(p.pick),
        why: p.why,
        one_line: p.oneLine,
      };
    }),
  };
}
