/**
 * Which cells this machine cannot measure faithfully on the local backend: those whose
 * environments, all busy at once, would ask for more CPU than the host has (slots × memory /
 * 1,769 of a core > cores). Their CPU quotas then cannot all be honoured, so if the function is
 * CPU-bound its latency is this machine's contention rather than the memory setting's effect.
 * The manifest's `local.notes` names them instead of mixing them in silently.
 */
import { availableParallelism } from "node:os";
import { type Cell, cellId, type Workload } from "../core/cell";
import { LEVELS, LOOP_DEFAULTS, quotaCores } from "../core/constants";
import type { LoadModel } from "../core/run-files";
import { type PerWorkload, perWorkload } from "../core/workloads";

/** The concurrency whose environments' quotas fit the host beside one core for the servers. */
export function fittingConcurrency(memoryMb: number, cores: number): number {
  return Math.max(1, Math.floor((cores - 1) / quotaCores(memoryMb)));
}

/**
 * The local backend's default `--concurrency` per workload (its row's `localConcurrency`): the
 * seed's, or what fits the host at the experiment's largest memory level (one memory level
 * must not get more environments than another), never more than the seed's.
 */
export function localConcurrency(cores: number = availableParallelism()): PerWorkload<number> {
  const fit = fittingConcurrency(Math.max(...LEVELS.memoryMb), cores);
  return perWorkload((s) =>
    s.localConcurrency.rule === "fit-host"
      ? Math.min(fit, LOOP_DEFAULTS.concurrency)
      : LOOP_DEFAULTS.concurrency,
  );
}

/** Environments a cell's trials keep busy at once: offered slots, capped by its reservation. */
export function busySlots(
  cell: Cell,
  load: LoadModel,
  concurrency: Readonly<Record<Workload, number>>,
  invocations: Readonly<Record<Workload, number>>,
): number | undefined {
  const reserved =
    cell.reservedConcurrency > 0 ? cell.reservedConcurrency : Number.POSITIVE_INFINITY;
  if (load.model === "open") return Number.isFinite(reserved) ? reserved : undefined;
  return Math.min(concurrency[cell.workload], invocations[cell.workload], reserved);
}

/** The cores a cell's busy environments ask for (undefined when its slots are unbounded). */
export function cpuDemand(
  cell: Cell,
  load: LoadModel,
  concurrency: Readonly<Record<Workload, number>>,
  invocations: Readonly<Record<Workload, number>>,
): number | undefined {
  const slots = busySlots(cell, load, concurrency, invocations);
  return slots === undefined ? undefined : slots * quotaCores(cell.memoryMb);
}

/** The manifest note naming the cells whose CPU demand exceeds the host's cores, if any. */
export function capacityNote(
  cells: readonly Cell[],
  load: LoadModel,
  concurrency: Readonly<Record<Workload, number>>,
  invocations: Readonly<Record<Workload, number>>,
  cores: number = availableParallelism(),
): string {
  const over = cells.flatMap((c) => {
    const d = cpuDemand(c, load, concurrency, invocations);
    return d === undefined || d > cores
      ? [`${cellId(c)} (${d === undefined ? "unbounded" : d.toFixed(1)})`]
      : [];
  });
  if (over.length === 0) {
    return `every cell's busy environments fit this host's ${cores} cores (slots × memory/1769 ≤ ${cores}): CPU quotas can all be honoured`;
  }
  return `${over.length} of ${cells.length} cells ask for more CPU than this host's ${cores} cores when all their environments are busy (slots × memory/1769 cores, shown): where CPU-bound they are NOT measured faithfully (the quota cannot bind; see host_saturated per invocation and the report's saturation caveat): ${over.join(", ")}`;
}
