import { WORKLOADS, type Workload, workloadSpec } from "../core/workloads";
import { type AnovaResult, type AnovaUnavailable, factorialAnova, hasAnova } from "./anova";
import type { RunStats } from "./runs";

/** The two responses analysed: ln of each run's p95 latency, and each run's throughput. */
export const RESPONSES = {
  log_p95: {
    label: "ln(warm p95 latency, ms) per run",
    value: (r: RunStats): number => (r.p95Ms > 0 ? Math.log(r.p95Ms) : Number.NaN),
  },
  throughput: {
    label: "throughput (objects/s) per run",
    value: (r: RunStats): number => r.throughputObjPerS,
  },
} as const;

/** Name of a response. */
export type ResponseName = keyof typeof RESPONSES;

/** The factor names of a workload, in model order. */
export function factorNames(workload: Workload): [string, string, string] {
  return ["memory_mb", workloadSpec(workload).factor.name, "reserved_concurrency"];
}

/** The levels of a run's cell, in {@link factorNames} order. */
export function levelsOf(r: RunStats): [number, number, number] {
  return [r.memoryMb, r.size, r.reservedConcurrency];
}

/** The ANOVA of one workload and response. */
export interface EffectAnalysis {
  readonly workload: Workload;
  readonly response: ResponseName;
  readonly result: AnovaResult | AnovaUnavailable;
}

/** Mean response per level of one factor (the data of an effect plot). */
export interface MainEffect {
  readonly workload: Workload;
  readonly factor: string;
  readonly levels: readonly {
    readonly level: number;
    readonly p95GeoMeanMs: number;
    readonly throughputMean: number;
    readonly runs: number;
  }[];
}

/**
 * Factorial ANOVA per workload: 3 factors, main effects and two-way interactions, the trial as a
 * block (one observation per run; a replicate is one run of a cell in one trial round), the
 * three-way interaction pooled with error into the residual; on ln(per-run p95 from `p95Of`,
 * the warm p95 in the analysis) and on per-run throughput.
 */
export function analyseEffects(
  runs: readonly RunStats[],
  p95Of: (r: RunStats) => number = (r) => r.p95Ms,
): EffectAnalysis[] {
  const out: EffectAnalysis[] = [];
  for (const workload of WORKLOADS) {
    const mine = runs.filter((r) => r.workload === workload);
    if (mine.length === 0) continue;
    for (const response of Object.keys(RESPONSES) as ResponseName[]) {
      const value =
        response === "log_p95"
          ? (r: RunStats): number => (p95Of(r) > 0 ? Math.log(p95Of(r)) : Number.NaN)
          : RESPONSES[response].value;
      out.push({
        workload,
        response,
        result: factorialAnova(
          factorNames(workload),
          mine.map((r) => ({ levels: levelsOf(r), y: value(r), block: r.trial })),
        ),
      });
    }
  }
  return out;
}

/** Main-effect means per factor level of each workload (geometric mean p95, mean throughput). */
export function mainEffects(
  runs: readonly RunStats[],
  p95Of: (r: RunStats) => number = (r) => r.p95Ms,
): MainEffect[] {
  const out: MainEffect[] = [];
  for (const workload of WORKLOADS) {
    const mine = runs.filter((r) => r.workload === workload);
    if (mine.length === 0) continue;
    factorNames(workload).forEach((factor, f) => {
      const levels = [...new Set(mine.map((r) => levelsOf(r)[f] ?? 0))].sort((a, b) => a - b);
      out.push({
        workload,
        factor,
        levels: levels.map((level) => {
          const at = mine.filter((r) => levelsOf(r)[f] === level);
          const logs = at
            .map((r) => (p95Of(r) > 0 ? Math.log(p95Of(r)) : Number.NaN))
            .filter(Number.isFinite);
          const tps = at.map((r) => r.throughputObjPerS).filter(Number.isFinite);
          return {
            level,
            p95GeoMeanMs:
              logs.length > 0
                ? Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length)
                : Number.NaN,
            throughputMean:
              tps.length > 0 ? tps.reduce((a, b) => a + b, 0) / tps.length : Number.NaN,
            runs: at.length,
          };
        }),
      });
    });
  }
  return out;
}

/** Columns of effects.csv. */
export const EFFECTS_COLUMNS = [
  "workload",
  "response",
  "term",
  "ss",
  "df",
  "ms",
  "f",
  "p",
  "replicates",
  "note",
] as const;

/** Rows of effects.csv: every ANOVA row, or one row with the reason when none was computed. */
export function effectsRows(analyses: readonly EffectAnalysis[]): (string | number)[][] {
  const rows: (string | number)[][] = [];
  for (const a of analyses) {
    if (!hasAnova(a.result)) {
      rows.push([
        a.workload,
        a.response,
        "",
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
        Number.NaN,
        a.result.reason,
      ]);
      continue;
    }
    const note = a.result.notes.join("; ");
    for (const r of a.result.rows) {
      rows.push([
        a.workload,
        a.response,
        r.term,
        r.ss,
        r.df,
        r.ms,
        r.f,
        r.p,
        a.result.replicates,
        note,
      ]);
    }
  }
  return rows;
}
