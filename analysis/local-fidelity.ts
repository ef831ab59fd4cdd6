/**
 * How faithful a local run's measurements are, run by run: which trials ran on a saturated
 * host (the local runtime's `host_saturated` per invocation) and which ran beside other cells
 * (`concurrent_cells` in the trial-done journal entries, `--parallel` > 1), from what
 * analysis/load-run.ts read. The summary and the report list them as caveats rather than mixing
 * them in silently.
 */
import type { Manifest } from "../core/run-files";
import { describeNetwork } from "../local/lambda/network";
import type { RunInfo } from "./loaded-run";

/**
 * A measured run counts as run on a saturated host when at least this share of its
 * invocations that carry the flag say so.
 */
export const SATURATED_RUN_SHARE = 0.5;

/** One measured run's fidelity flags. */
export interface RunFidelity {
  readonly runId: string;
  readonly cellId: string;
  readonly trial: number;
  /** Invocations with a host measurement, and how many of them found the host saturated. */
  readonly measured: number;
  readonly saturated: number;
  /** True when `saturated / measured` ≥ {@link SATURATED_RUN_SHARE}. */
  readonly saturatedHost: boolean;
  /** Median CPU share of the quota of its invocations; undefined without measurements. */
  readonly medianQuotaShare?: number;
  /** Other cells live during the trial (`--parallel` > 1 only). */
  readonly concurrentCells: readonly string[];
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** What {@link runFidelity} reads of a run (analysis/load-run.ts RunInfo). */
export type FidelityInput = Pick<
  RunInfo,
  | "runId"
  | "cellId"
  | "trial"
  | "warmup"
  | "hostMeasured"
  | "hostSaturated"
  | "quotaShares"
  | "concurrentCells"
>;

/** The fidelity flags of every measured (non-warm-up) run. */
export function runFidelity(runs: readonly FidelityInput[]): RunFidelity[] {
  return runs
    .filter((r) => !r.warmup)
    .map((r) => {
      const share = median(r.quotaShares);
      return {
        runId: r.runId,
        cellId: r.cellId,
        trial: r.trial,
        measured: r.hostMeasured,
        saturated: r.hostSaturated,
        saturatedHost:
          r.hostMeasured > 0 && r.hostSaturated / r.hostMeasured >= SATURATED_RUN_SHARE,
        ...(share === undefined ? {} : { medianQuotaShare: share }),
        concurrentCells: r.concurrentCells,
      };
    });
}

/**
 * Caveat lines for a local run (none on AWS): trials on a saturated host and trials run beside
 * other cells, by cell and trial.
 */
export function localFidelityNotes(loaded: readonly FidelityInput[], manifest: Manifest): string[] {
  if (manifest.backend !== "local") return [];
  const runs = runFidelity(loaded);
  const measured = runs.filter((r) => r.measured > 0);
  const n = manifest.local?.network;
  const notes: string[] = [
    describeNetwork(
      n === undefined
        ? undefined
        : n.mbps === null
          ? { s3LatencyMs: n.s3_latency_ms }
          : { mbps: n.mbps, s3LatencyMs: n.s3_latency_ms },
    ),
  ];
  const saturated = runs.filter((r) => r.saturatedHost);
  if (measured.length === 0) {
    notes.push("host saturation: not recorded (a run made before the local runtime measured CPU)");
  } else if (saturated.length === 0) {
    notes.push(
      `host saturation: none of ${measured.length} measured trials ran on a saturated host (≥ 90 % of all cores busy)`,
    );
  } else {
    notes.push(
      `host saturation: ${saturated.length} of ${measured.length} measured trials ran on a saturated host (≥ 90 % of all cores busy in ≥ ${100 * SATURATED_RUN_SHARE} % of their invocations): their latency is this machine's contention, not the function's: ${saturated
        .map((r) => `${r.cellId} trial ${r.trial}`)
        .join(", ")}`,
    );
  }
  const overlapped = runs.filter((r) => r.concurrentCells.length > 0);
  if (overlapped.length > 0) {
    notes.push(
      `${overlapped.length} of ${runs.length} measured trials ran beside other cells (--parallel ${manifest.parallel}); the journal's concurrent_cells lists which`,
    );
  }
  return notes;
}
