/** Where the analysis's outputs go and the one function that writes them all. */
import { writeFileSync } from "node:fs";
import { makeDirectory } from "../core/dirs";
import { toCsv } from "./csv";
import { EFFECTS_COLUMNS, effectsRows } from "./effects";
import type { Analysis } from "./model";
import type { OutputPaths } from "./output-paths";
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

export { outputPaths } from "./output-paths";

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
