/** Where the analysis's outputs go and the one function that writes them all. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDirectory } from "../core/dirs";
import { toCsv } from "./csv";
import { EFFECTS_COLUMNS, effectsRows } from "./effects";
import type { Analysis } from "./model";
import { recommendationJson } from "./recommendation";
import { renderReport } from "./report-html";
import { renderSummary } from "./summary";
import {
  COST_COLUMNS,
  costRows,
  P95_COLUMNS,
  p95Rows,
  pivotTable,
  RESULTS_COLUMNS,
  resultsRows,
} from "./tables";
import {
  UNITS_COLUMNS,
  unitsRows,
  WARM_CELL_COLUMNS,
  WARM_RUN_COLUMNS,
  warmCellRow,
  warmRunRow,
} from "./unit-tables";

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

/** Writes every output of an analysis. */
export function writeOutputs(a: Analysis, paths: OutputPaths, outDir: string): void {
  makeDirectory("--out-dir", outDir);
  const results = resultsRows(a.runs).map((row, i) => {
    const r = a.runs[i];
    return r === undefined ? row : [...row, ...warmRunRow(a, r)];
  });
  writeFileSync(paths.results, toCsv([...RESULTS_COLUMNS, ...WARM_RUN_COLUMNS], results));
  const pivot = pivotTable(a.frame);
  writeFileSync(paths.pivot, toCsv(pivot.columns, pivot.rows));
  const notRecommended = new Map(
    a.recommendations.flatMap((r) => r.ineligible.map((x) => [x.cell.cellId, x.reason] as const)),
  );
  writeFileSync(
    paths.p95,
    toCsv(
      [...P95_COLUMNS, ...WARM_CELL_COLUMNS],
      p95Rows(a.cells, (c) => ({
        status: a.outcomes.get(c.cellId)?.status ?? "",
        notRecommended: notRecommended.get(c.cellId) ?? "",
      })).map((row, i) => {
        const c = a.cells[i];
        return c === undefined ? row : [...row, ...warmCellRow(a, c)];
      }),
    ),
  );
  writeFileSync(paths.units, toCsv(UNITS_COLUMNS, unitsRows(a)));
  writeFileSync(paths.cost, toCsv(COST_COLUMNS, costRows(a.cells, a.manifest.architecture)));
  writeFileSync(paths.effects, toCsv(EFFECTS_COLUMNS, effectsRows(a.effects)));
  writeFileSync(paths.summary, renderSummary(a));
  writeFileSync(paths.report, renderReport(a));
  writeFileSync(paths.recommendation, `${JSON.stringify(recommendationJson(a), null, 2)}\n`);
}
