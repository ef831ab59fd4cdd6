/** What journal.jsonl says about runs and cells: their cells, trials, discards and outcomes. */
import { movesCellState, readJournalFile } from "../core/run-files";
import type { CellOutcome, ExcludedRun, RunInfo, RunTable, SkippedLines } from "./loaded-run";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads journal.jsonl into the run table (cell, trial, warm-up, function name, cells beside) and
 * returns what it says about runs and cells; malformed lines are counted in `skipped`.
 */
export function readJournal(file: string, table: RunTable, skipped: SkippedLines): JournalFacts {
  const journal = new JournalFacts();
  /** Each cell's function name by its latest `deployed` entry so far. */
  const deployedNames = new Map<string, string>();
  const journalRead = readJournalFile(file);
  skipped.journalMalformed += journalRead.malformed;
  for (const v of journalRead.entries) {
    journal.add(v.cell_id, v.phase, v.run_id, v.detail);
    if (v.phase === "deployed" && typeof v.detail?.function_name === "string") {
      deployedNames.set(v.cell_id, v.detail.function_name);
    }
    if (typeof v.run_id === "string" && v.run_id !== "") {
      const run = table.runs[table.of(v.run_id)];
      if (run === undefined) continue;
      table.assignCell(run, v.cell_id);
      // The function of the attempt the run was made in (the manifest has the first's).
      const deployedName = deployedNames.get(v.cell_id);
      if (v.phase === "trial-start" && deployedName !== undefined) {
        run.functionName = deployedName;
      }
      if (typeof v.trial === "number") run.trial = v.trial;
      if (v.trial === 0) run.warmup = true;
      const beside = (v.detail as Record<string, unknown> | undefined)?.concurrent_cells;
      if (v.phase === "trial-done" && Array.isArray(beside)) {
        run.concurrentCells = beside.filter((c): c is string => typeof c === "string");
      }
    }
  }
  return journal;
}

/** What the journal says about runs and cells, gathered line by line. */
export class JournalFacts {
  private readonly last = new Map<string, { phase: string; error?: string }>();
  private readonly runCell = new Map<string, string>();
  private readonly harvested = new Set<string>();
  private readonly discarded = new Map<string, { cellId: string; reason: string }>();

  add(cellId: string, phase: string, runId: unknown, detail: unknown): void {
    const error =
      isObject(detail) && typeof detail.error === "string" ? detail.error : "no error recorded";
    if (movesCellState(phase, this.last.get(cellId)?.phase)) {
      this.last.set(cellId, phase === "failed" ? { phase, error } : { phase });
    }
    if (typeof runId === "string" && runId !== "") {
      this.runCell.set(runId, cellId);
      if (phase === "harvested") this.harvested.add(runId);
    }
    if (phase === "failed" && isObject(detail) && Array.isArray(detail.discarded_run_ids)) {
      for (const id of detail.discarded_run_ids) {
        if (typeof id === "string") this.discarded.set(id, { cellId, reason: error });
      }
    }
  }

  private status(cellId: string): CellOutcome["status"] | undefined {
    const phase = this.last.get(cellId)?.phase;
    if (phase === undefined) return undefined;
    return phase === "done" ? "done" : phase === "failed" ? "failed" : "unfinished";
  }

  /**
   * Runs to leave out: those --resume discarded, and those of a cell that did not end `done`
   * whose records were never harvested (their invocations are real but their records were never
   * collected, so they would only show as missing). Runs of `done` cells are always kept: older
   * journals and fixtures have no `harvested` lines.
   */
  excludedRuns(trialOf: (runId: string) => number): Map<string, ExcludedRun> {
    const out = new Map<string, ExcludedRun>();
    for (const [runId, d] of this.discarded) {
      out.set(runId, {
        runId,
        cellId: d.cellId,
        trial: trialOf(runId),
        kind: "discarded",
        reason: d.reason,
        invocations: 0,
        records: 0,
      });
    }
    for (const [runId, cellId] of this.runCell) {
      if (out.has(runId) || this.harvested.has(runId)) continue;
      const status = this.status(cellId);
      if (status === undefined || status === "done") continue;
      out.set(runId, {
        runId,
        cellId,
        trial: trialOf(runId),
        kind: "not-harvested",
        reason:
          status === "failed"
            ? `cell failed: ${this.last.get(cellId)?.error ?? "no error recorded"}`
            : "cell unfinished (run interrupted and not resumed)",
        invocations: 0,
        records: 0,
      });
    }
    return out;
  }

  outcomes(kept: readonly RunInfo[]): Map<string, CellOutcome> {
    const out = new Map<string, CellOutcome>();
    for (const [cellId, last] of this.last) {
      const status = this.status(cellId) ?? "unfinished";
      out.set(cellId, {
        status,
        ...(status === "failed" && last.error !== undefined ? { error: last.error } : {}),
        keptRuns: kept.filter((r) => r.cellId === cellId).length,
      });
    }
    return out;
  }
}
