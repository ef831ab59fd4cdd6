/**
 * Where the analysis's outputs go: their file names and paths. No imports beyond node:path, so
 * the CLI's --help can name them without loading the analysis.
 */
import { join } from "node:path";

/** Where each output goes. */
export interface OutputPaths {
  readonly results: string;
  readonly summary: string;
  readonly pivot: string;
  readonly p95: string;
  readonly cost: string;
  readonly effects: string;
  readonly report: string;
  readonly recommendation: string;
  readonly units: string;
}

/** Output file names in the output directory. */
export const OUTPUT_FILES = {
  results: "results.csv",
  summary: "summary.txt",
  pivot: "pivot.csv",
  p95: "p95.csv",
  cost: "cost.csv",
  effects: "effects.csv",
  report: "report.html",
  recommendation: "recommendation.json",
  units: "units.csv",
} as const;

/** Default output paths in `outDir`, with any overrides applied. */
export function outputPaths(outDir: string, overrides: Partial<OutputPaths> = {}): OutputPaths {
  return {
    results: overrides.results ?? join(outDir, OUTPUT_FILES.results),
    summary: overrides.summary ?? join(outDir, OUTPUT_FILES.summary),
    pivot: overrides.pivot ?? join(outDir, OUTPUT_FILES.pivot),
    p95: overrides.p95 ?? join(outDir, OUTPUT_FILES.p95),
    cost: overrides.cost ?? join(outDir, OUTPUT_FILES.cost),
    effects: overrides.effects ?? join(outDir, OUTPUT_FILES.effects),
    report: overrides.report ?? join(outDir, OUTPUT_FILES.report),
    recommendation: overrides.recommendation ?? join(outDir, OUTPUT_FILES.recommendation),
    units: overrides.units ?? join(outDir, OUTPUT_FILES.units),
  };
}
