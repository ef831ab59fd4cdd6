import { InvalidInputError } from "../core/errors";
import { type Workload, workloadSpec } from "../core/workloads";
import { type BestSet, bestSet, EQUIVALENCE_MARGIN } from "./compare";
import type { CellUnits } from "./units";

/** How a cell is chosen within the best set (AWS Lambda Power Tuning's three strategies). */
export const STRATEGIES = ["cost", "speed", "balanced"] as const;

/** A pick strategy. */
export type Strategy = (typeof STRATEGIES)[number];

/**
 * Stated arrival rate of events (events/s) at which the per-event latency of the events
 * workload is computed: the first event of a batch of B waits (B − 1) / R for the rest. Here,
 * beside the pick's other defaults, so that analyze's --help loads no analysis (nor danfojs).
 */
export const DEFAULT_EVENT_RATE_PER_S = 1000;

/** Power Tuning's default balanced weight: cost and speed count alike. */
export const DEFAULT_BALANCED_WEIGHT = 0.5;

/** Parses `--strategy`; bad values are {@link InvalidInputError}. */
export function parseStrategy(flag: string, value: string): Strategy {
  if (!(STRATEGIES as readonly string[]).includes(value)) {
    throw new InvalidInputError(flag, value, `one of ${STRATEGIES.join(", ")}`);
  }
  return value as Strategy;
}

/** Parses `--balanced-weight`: a number from 0 (speed only) to 1 (cost only). */
export function parseBalancedWeight(flag: string, value: string): number {
  const w = Number(value);
  if (value.trim() === "" || !Number.isFinite(w) || w < 0 || w > 1) {
    throw new InvalidInputError(flag, value, "a number from 0 (speed only) to 1 (cost only)");
  }
  return w;
}

/** A factor's main effect on the per-unit latency, for naming levels honestly. */
export interface FactorSignificance {
  readonly factor: string;
  /** Holm-adjusted p of the factor's main effect; NaN when not tested. */
  readonly pHolm: number;
}

/** The answer for one workload. */
export interface WorkloadPick {
  readonly workload: Workload;
  readonly strategy: Strategy;
  readonly balancedWeight: number;
  /** What the comparison is made on, in words. */
  readonly basis: string;
  readonly comparison: BestSet;
  readonly eligible: number;
  /** Best-set members, best (lowest per-unit latency) first. */
  readonly members: readonly CellUnits[];
  readonly pick: CellUnits | undefined;
  /** True when the test excluded at least one eligible cell. */
  readonly separated: boolean;
  readonly factors: readonly FactorSignificance[];
  readonly why: string;
  readonly oneLine: string;
}

/** Where a cell stands in its workload's answer. */
export type CellVerdict = "pick" | "best-set" | "slower" | "not-eligible";

/**
 * The one rule the summary, the report and units.csv word differently: the pick; else slower
 * when the test excluded the cell; else in the best set; cells outside the comparison are not
 * eligible.
 */
export function cellVerdict(p: WorkloadPick | undefined, cellId: string): CellVerdict {
  const c = p?.comparison.cells.find((x) => x.cellId === cellId);
  if (p === undefined || c === undefined) return "not-eligible";
  if (p.pick?.cell.cellId === cellId) return "pick";
  return c.worse ? "slower" : "best-set";
}

/** Options of {@link pickWorkload}. */
export interface PickOptions {
  readonly strategy: Strategy;
  readonly balancedWeight: number;
  readonly eventRatePerS: number;
  readonly margin?: number;
  /** Reserved-concurrency levels that do not bind at the offered load (the same treatment). */
  readonly nonBindingRc?: readonly number[];
}

/**
 * Power Tuning's balanced value (minimised): w · cost / max cost + (1 − w) · latency / max
 * latency over the candidates; w = 1 is the cost strategy, w = 0 the speed strategy.
 */
export function balancedValue(
  c: CellUnits,
  maxCost: number,
  maxLatency: number,
  weight: number,
): number {
  return (weight * c.costPerUnit) / maxCost + ((1 - weight) * c.unitLatency.estimate) / maxLatency;
}

function choose(members: readonly CellUnits[], o: PickOptions): CellUnits | undefined {
  const finite = members.filter(
    (m) => Number.isFinite(m.costPerUnit) && Number.isFinite(m.unitLatency.estimate),
  );
  const maxCost = Math.max(...finite.map((m) => m.costPerUnit));
  const maxLat = Math.max(...finite.map((m) => m.unitLatency.estimate));
  const score = (m: CellUnits): [number, number] =>
    o.strategy === "cost"
      ? [m.costPerUnit, m.unitLatency.estimate]
      : o.strategy === "speed"
        ? [m.unitLatency.estimate, m.costPerUnit]
        : [balancedValue(m, maxCost, maxLat, o.balancedWeight), m.costPerUnit];
  return [...finite].sort((a, b) => {
    const x = score(a);
    const y = score(b);
    return x[0] - y[0] || x[1] - y[1] || a.cell.cellId.localeCompare(b.cell.cellId);
  })[0];
}

function factorLabel(f: string): string {
  return f === "memory_mb"
    ? "memory"
    : f === "reserved_concurrency"
      ? "reserved concurrency"
      : f.replace("_", " ");
}

function levelText(c: CellUnits, factor: string): string {
  const cell = c.cell;
  if (factor === "memory_mb") return `${cell.memoryMb} MB`;
  if (factor === "reserved_concurrency")
    return cell.reservedConcurrency === 0 ? "unreserved" : `rc ${cell.reservedConcurrency}`;
  return `${cell.size} ${workloadSpec(cell.workload).factor.describe}`;
}

/**
 * Which levels of the pick may be named: a factor whose effect on latency is significant
 * (Holm-adjusted p < 0.05), or, when cost counts (cost, balanced), a factor that changes the
 * price of a unit of work (memory and the size factor; reserved concurrency is free). A
 * non-binding reserved-concurrency level is reported as such, never by its value.
 */
function namedLevels(
  p: CellUnits,
  factors: readonly FactorSignificance[],
  s: Strategy,
  nonBinding: readonly number[],
): string[] {
  return factors.map((f) => {
    // A level that does not bind is the same treatment as every other non-binding level:
    // naming it ("unreserved") would claim a difference the design cannot show.
    if (
      f.factor === "reserved_concurrency" &&
      nonBinding.length > 1 &&
      nonBinding.includes(p.cell.reservedConcurrency)
    ) {
      return `reserved concurrency: does not bind (${nonBinding.map((rc) => (rc === 0 ? "unreserved" : `rc ${rc}`)).join(" = ")})`;
    }
    const significant = Number.isFinite(f.pHolm) && f.pHolm < 0.05;
    const costly = s !== "speed" && f.factor !== "reserved_concurrency";
    return significant || costly
      ? levelText(p, f.factor)
      : `${factorLabel(f.factor)}: no significant effect`;
  });
}

function ms(x: number): string {
  return Number.isFinite(x) ? `${x >= 100 ? x.toFixed(0) : x.toPrecision(3)} ms` : "n/a";
}

function ci(u: CellUnits): string {
  const i = u.unitLatency;
  return Number.isFinite(i.low)
    ? `95% CI ${ms(i.low)}–${ms(i.high)}`
    : `no interval: ${i.n} run${i.n === 1 ? "" : "s"} with warm invocations`;
}

function usd(x: number): string {
  return Number.isFinite(x) ? `$${x.toPrecision(3)}` : "n/a";
}

/**
 * The answer for one workload: the best set on per-unit latency (Tukey HSD with trials as
 * blocks, an equivalence margin), then the strategy's pick within it.
 */
export function pickWorkload(
  workload: Workload,
  eligible: readonly CellUnits[],
  factors: readonly FactorSignificance[],
  o: PickOptions,
): WorkloadPick {
  const margin = o.margin ?? EQUIVALENCE_MARGIN;
  const basis = workloadSpec(workload).unit.basis.replace("{rate}", String(o.eventRatePerS));
  const comparison = bestSet(
    eligible.flatMap((u) =>
      u.replicates.map((r) => ({ cellId: u.cell.cellId, block: r.trial, y: r.y })),
    ),
    margin,
  );
  const byId = new Map(eligible.map((u) => [u.cell.cellId, u]));
  const members = comparison.members
    .map((id) => byId.get(id))
    .filter((u): u is CellUnits => u !== undefined);
  const pick = choose(members, o);
  const k = comparison.cells.length;
  const separated = members.length < k;
  const strategyText =
    o.strategy === "balanced" ? `balanced (cost weight ${o.balancedWeight})` : o.strategy;
  const setText = comparison.untestable
    ? `no test possible (${comparison.untestable}); all ${k} cells kept`
    : separated
      ? `best set ${members.length} of ${k} eligible cells`
      : `no significant difference among ${k} cells`;
  const noWarm = eligible.filter((u) => u.replicates.length === 0).map((u) => u.cell.cellId);
  const noWarmText =
    noWarm.length === 0
      ? ""
      : `; left out of the comparison for lack of warm invocations: ${noWarm.join(", ")}`;
  const why =
    pick === undefined
      ? `no eligible cell with warm measurements (${eligible.length} eligible)`
      : `${setText} (${comparison.method}); within it, strategy ${strategyText} chose ${pick.cell.cellId}` +
        (o.strategy === "cost"
          ? " as the cheapest per unit"
          : o.strategy === "speed"
            ? " as the fastest per unit"
            : " by Power Tuning's balanced value w·cost/max + (1 − w)·latency/max") +
        noWarmText;
  const unit = workloadSpec(workload).unit.latency;
  const oneLine =
    pick === undefined
      ? `${workload}: no recommendation — ${why}`
      : `${workload} (${strategyText}): ${namedLevels(pick, factors, o.strategy, o.nonBindingRc ?? []).join(", ")} — ${usd(pick.costPerUnit)} per ${pick.costUnit}, ${unit} ${ms(pick.unitLatency.estimate)} (${ci(pick)}); ${setText}`;
  return {
    workload,
    strategy: o.strategy,
    balancedWeight: o.balancedWeight,
    basis,
    comparison,
    eligible: eligible.length,
    members,
    pick,
    separated,
    factors,
    why,
    oneLine,
  };
}
