/**
 * The analysis model: everything computed from one run directory, as the writers (CSVs,
 * summary, report, recommendation.json) read it. Types only: the computation is analyze.ts,
 * the writing outputs.ts, so that neither imports the other's modules back.
 */
import type { Pricing } from "../core/pricing";
import type { Manifest } from "../core/run-files";
import type { Recommendation } from "./best-cells";
import type { CellStats } from "./cells";
import type { EffectAnalysis, MainEffect } from "./effects";
import type { RunFrame } from "./frame";
import type { LoadModel } from "./load-model";
import type { CellOutcome, ExcludedRun, SkippedLines } from "./loaded-run";
import type { Strategy, WorkloadPick } from "./pick";
import type { EffectRatios } from "./ratios";
import type { RunStats } from "./runs";
import type { CellUnits } from "./units";
import type { WarmRunStats } from "./warm";

/** Latency statistics of successful invocations pooled over runs. */
export interface PooledLatency {
  readonly ok: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** Everything computed from one run directory. */
export interface Analysis {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly pricing: Pricing;
  readonly skipped: SkippedLines;
  readonly hasInvocations: boolean;
  readonly runs: readonly RunStats[];
  /** The same runs as one danfojs DataFrame: the source of every per-cell aggregate. */
  readonly frame: RunFrame;
  /** Runs whose cell could not be determined (left out of every table). */
  readonly unassigned: readonly string[];
  readonly cells: readonly CellStats[];
  readonly overall: PooledLatency;
  readonly effects: readonly EffectAnalysis[];
  readonly mainEffects: readonly MainEffect[];
  readonly recommendations: readonly Recommendation[];
  /** Runs left out of every statistic (discarded by --resume, or never harvested). */
  readonly excluded: readonly ExcludedRun[];
  /** Journal outcome per cell id. */
  readonly outcomes: ReadonlyMap<string, CellOutcome>;
  /** Warm and cold statistics per run id (warm-up runs included). */
  readonly warm: ReadonlyMap<string, WarmRunStats>;
  /** Per-unit-of-work figures per cell id. */
  readonly units: ReadonlyMap<string, CellUnits>;
  /** The answer per workload: best set and the strategy's pick. */
  readonly picks: readonly WorkloadPick[];
  readonly strategy: Strategy;
  readonly balancedWeight: number;
  readonly eventRatePerS: number;
  readonly load: LoadModel;
  /** Local runs: caveats on the measurements (saturated host, cells run side by side). */
  readonly localNotes: readonly string[];
  /** Main effects on ln warm p95 as ratios to the grand geometric mean, with CIs. */
  readonly effectRatios: readonly EffectRatios[];
}
