import type { LoadedRun } from "./loaded-run";
import { groupRecords } from "./runs";
import { percentileSorted } from "./stats";

/**
 * Warm and cold statistics of one run. Warm = successful invocations of a measured trial
 * (not a warm-up run) whose record says `cold_start: false`: the steady state a client sees
 * once the environments exist. Cold starts are a separate outcome: how often, how long INIT
 * took (REPORT's Init Duration), and what the client waited (client_end − client_start).
 */
export interface WarmRunStats {
  readonly runId: string;
  /** Warm-up run (trial 0 / `warmup: true`): no warm statistics, counted for cold starts only. */
  readonly warmup: boolean;
  readonly records: number;
  readonly coldStarts: number;
  /** Successful warm invocations (0 for a warm-up run). */
  readonly warmOk: number;
  readonly warmP50Ms: number;
  readonly warmP95Ms: number;
  readonly warmP99Ms: number;
  /** Median warm latency over warm invocations; NaN without any. */
  readonly warmMedianMs: number;
  /** INIT durations reported for this run's cold starts, ms. */
  readonly initMs: readonly number[];
  /** Client-side latencies of this run's cold invocations, ms. */
  readonly coldClientMs: readonly number[];
}

/** Warm and cold statistics per run id (every loaded run, warm-up runs included). */
export function computeWarmStats(loaded: LoadedRun): Map<string, WarmRunStats> {
  const { records } = loaded;
  const n = loaded.runs.length;
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const { offsets, order } = groupRecords(records, identity, n);
  const out = new Map<string, WarmRunStats>();
  loaded.runs.forEach((run, r) => {
    const from = offsets[r] ?? 0;
    const to = offsets[r + 1] ?? 0;
    const warm: number[] = [];
    const initMs: number[] = [];
    const coldClientMs: number[] = [];
    let cold = 0;
    for (let k = from; k < to; k++) {
      const i = order[k] ?? 0;
      if (records.coldStart[i] === 1) {
        cold++;
        const init = records.initMs[i] ?? Number.NaN;
        if (Number.isFinite(init)) initMs.push(init);
        const client = records.clientMs[i] ?? Number.NaN;
        if (Number.isFinite(client)) coldClientMs.push(client);
      } else if (records.ok[i] === 1 && !run.warmup) {
        warm.push(records.latencyMs[i] ?? 0);
      }
    }
    const sorted = Float64Array.from(warm).sort();
    out.set(run.runId, {
      runId: run.runId,
      warmup: run.warmup,
      records: to - from,
      coldStarts: cold,
      warmOk: sorted.length,
      warmP50Ms: percentileSorted(sorted, 50),
      warmP95Ms: percentileSorted(sorted, 95),
      warmP99Ms: percentileSorted(sorted, 99),
      warmMedianMs: percentileSorted(sorted, 50),
      initMs,
      coldClientMs,
    });
  });
  return out;
}

/** The cold-start outcome of one cell, over all its runs (warm-up included). */
export interface ColdStats {
  readonly coldStarts: number;
  /** Cold starts in the measured trials ÷ their records: what a warm-up did not absorb. */
  readonly measuredColdRate: number;
  /** Cold starts of the warm-up run(s). */
  readonly warmupColdStarts: number;
  readonly initMedianMs: number;
  readonly initP95Ms: number;
  readonly coldClientMedianMs: number;
  readonly coldClientP95Ms: number;
}

/** Pools the cold-start outcome of a cell's runs. */
export function coldStats(runs: readonly WarmRunStats[]): ColdStats {
  let measuredCold = 0;
  let measuredRecords = 0;
  let warmupCold = 0;
  const init: number[] = [];
  const client: number[] = [];
  for (const r of runs) {
    if (r.warmup) warmupCold += r.coldStarts;
    else {
      measuredCold += r.coldStarts;
      measuredRecords += r.records;
    }
    init.push(...r.initMs);
    client.push(...r.coldClientMs);
  }
  const si = Float64Array.from(init).sort();
  const sc = Float64Array.from(client).sort();
  return {
    coldStarts: measuredCold + warmupCold,
    measuredColdRate: measuredRecords > 0 ? measuredCold / measuredRecords : Number.NaN,
    warmupColdStarts: warmupCold,
    initMedianMs: percentileSorted(si, 50),
    initP95Ms: percentileSorted(si, 95),
    coldClientMedianMs: percentileSorted(sc, 50),
    coldClientP95Ms: percentileSorted(sc, 95),
  };
}
