/** Defaults of the run CLI that differ by backend, and the open loop's limits. */
import type { Workload } from "../core/cell";
import { LEVELS } from "../core/constants";
import { LOCAL_INVOCATIONS, WORKLOAD_SPECS, WORKLOADS } from "../core/workloads";

/**
 * Defaults of the local backend where the seed's AWS defaults (50/20 invocations, 5 trials)
 * would not finish the full matrix within 10 minutes on a 2-core machine. Applied only to
 * flags the user did not set; recorded in the manifest and printed. Three trials keep
 * within-cell replicates for the analysis; the batch workload keeps the seed's 100 MiB objects
 * (two parts at 64 MiB) with 3 invocations per trial. The local `--concurrency` depends on the
 * host's cores: automation/local-capacity.ts `localConcurrency`.
 */
export const LOCAL_DEFAULTS = {
  invocations: LOCAL_INVOCATIONS,
  trials: 3,
  parallel: 1,
} as const;

/** Why each local default differs from the seed's, for the manifest (see {@link localDefaultReason}). */
const LOCAL_DEFAULT_REASONS: Readonly<Record<string, string>> = {
  invocations:
    "fewer than the seed's 50 events / 20 batch so the full matrix finishes within 10 minutes on 2 cores",
  trials: "fewer than the seed's 5 for the same reason; still replicated within each cell",
  parallel:
    "one cell at a time: two cells at once share this machine's cores and disk and slow each other down (batch ×1.8 when overlapped); more with --parallel, and each trial journals the cells that ran beside it (concurrent_cells)",
};

/**
 * Why a local default replaced the seed's, for the manifest's `local.notes`. `--concurrency`'s
 * reason is per workload, for the workloads it defaulted (`value`), with the reserved levels
 * its concurrency leaves unbound.
 */
export function localDefaultReason(name: string, value: unknown): string {
  if (name !== "concurrency" || typeof value !== "object" || value === null) {
    return LOCAL_DEFAULT_REASONS[name] ?? "local backend";
  }
  const given = value as Partial<Record<Workload, number>>;
  return WORKLOADS.flatMap((w) => {
    const c = given[w];
    if (c === undefined) return [];
    const spec = WORKLOAD_SPECS[w].localConcurrency;
    const unbound = LEVELS.reservedConcurrency.filter((rc) => rc > 0 && rc >= c);
    const rc =
      spec.rule === "fit-host" && unbound.length > 0
        ? ` At ${c}, reserved concurrency ${unbound.join(" and ")} ${unbound.length > 1 ? "do" : "does"} not bind: those cells are the same treatment as the unreserved ones, without throttles.`
        : "";
    return [`${w} ${c}: ${spec.why}.${rc}`];
  }).join(" ");
}

/** Limits of the open loop's flags. */
export const OPEN_LOOP = {
  minRate: 0.1,
  maxRate: 1000,
  maxDurationS: 3600,
  /** The same bound as `--invocations`: at most this many expected invocations per trial. */
  maxExpectedPerTrial: 10_000,
} as const;

/** `--parallel` default on AWS: one stack at a time keeps the account's concurrency safe. */
export const AWS_DEFAULT_PARALLEL = 1;
