import type { Workload } from "../core/cell";
import type { Manifest } from "../core/run-files";
import { perWorkloadCompact } from "../core/workloads";

/** How load was offered: the seed's closed loop, or an open loop of Poisson arrivals. */
export type LoadModel =
  | { readonly model: "closed"; readonly concurrency: Readonly<Record<Workload, number>> }
  | {
      readonly model: "open";
      readonly arrivalRatePerS: number;
      readonly durationS: number;
    };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The manifest's `load` (absent in older runs: closed loop at `concurrency`). */
export function loadModelOf(m: Manifest): LoadModel {
  const load = (m as { load?: unknown }).load;
  if (
    isObject(load) &&
    load.model === "open" &&
    typeof load.arrival_rate_per_s === "number" &&
    typeof load.duration_s === "number"
  ) {
    return {
      model: "open",
      arrivalRatePerS: load.arrival_rate_per_s,
      durationS: load.duration_s,
    };
  }
  return { model: "closed", concurrency: m.concurrency };
}

/**
 * Offered concurrency of a workload: closed loop, the client's concurrency C for it (every slot
 * fires again as soon as its call returns), but never more than the invocations of a run (3
 * batch invocations are never more than 3 in flight); open loop, Little's law: arrival rate ×
 * mean service time (s).
 */
export function offeredConcurrency(
  load: LoadModel,
  workload: Workload,
  meanServiceMs: number,
  invocationsPerRun = Number.POSITIVE_INFINITY,
): number {
  return load.model === "closed"
    ? Math.min(load.concurrency[workload], invocationsPerRun)
    : (load.arrivalRatePerS * meanServiceMs) / 1000;
}

/**
 * Reserved-concurrency levels that do not bind at an offered concurrency: 0 (unreserved, the
 * account pool) and every level ≥ the offered concurrency. They are the same treatment: the
 * function never has more requests in flight than the limit allows.
 */
export function nonBindingLevels(levels: readonly number[], offered: number): number[] {
  return levels.filter((rc) => rc === 0 || rc >= offered);
}

/** One sentence on what the throttle rate measures under this load model. */
export function throttleBasis(load: LoadModel): string {
  if (load.model === "closed") {
    return `closed loop at concurrency ${perWorkloadCompact(load.concurrency)}: a throttled call returns at once and its slot fires again, so the throttle rate depends on the invocation budget per run (with reserved concurrency r < C, about r calls succeed per round while the other C − r slots keep being throttled); compare it between cells of the same budget only`;
  }
  return `open loop, Poisson arrivals at ${load.arrivalRatePerS}/s for ${load.durationS} s: throttle rate is measured against the offered concurrency = arrival rate × mean service time`;
}
