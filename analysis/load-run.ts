import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { billedDurationMs } from "../core/billing";
import { cellFromRecord, cellId } from "../core/cell";
import { InvalidInputError } from "../core/errors";
import { RUN_FILES, readManifest } from "../core/run-files";
import { recordOutOfBounds } from "./bounds";
import { readJournal } from "./journal-facts";
import { forEachLine } from "./lines";
import { type InvocationFacts, readInvocations } from "./load-invocations";
import { countOutOfBounds, type LoadedRun, noSkippedLines, RunTable } from "./loaded-run";
import { ColumnBuilder, parseRecordLine } from "./record-columns";

function nonEmptyFile(file: string): boolean {
  return existsSync(file) && statSync(file).size > 0;
}

/**
 * Loads a run directory: manifest.json (required), invocations.jsonl and journal.jsonl (used
 * when present), records.jsonl. Malformed, foreign and duplicate lines are skipped and counted.
 * A missing directory, missing manifest or a run without any invocation or record is bad input.
 */
export function loadRun(dir: string): LoadedRun {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InvalidInputError(
      "run directory",
      dir,
      "an existing run directory (results/<run>) written by npm run experiment",
    );
  }
  if (!existsSync(join(dir, RUN_FILES.manifest))) {
    throw new InvalidInputError(
      "run directory",
      dir,
      `a run directory containing ${RUN_FILES.manifest}`,
    );
  }
  const manifest = readManifest(dir, "run directory");
  const invFile = join(dir, RUN_FILES.invocations);
  const recFile = join(dir, RUN_FILES.records);
  const journalFile = join(dir, RUN_FILES.journal);
  const hasInvocations = nonEmptyFile(invFile);
  if (!hasInvocations && !nonEmptyFile(recFile)) {
    throw new InvalidInputError(
      "run directory",
      dir,
      `a run with data: ${RUN_FILES.invocations} and ${RUN_FILES.records} are both missing or empty`,
    );
  }
  const skipped = noSkippedLines();
  const table = new RunTable(manifest);
  const { runs } = table;
  // Journal first: it knows each run's cell and trial even if every invocation was throttled,
  // which runs --resume discarded, and which cells ended failed.
  const journal = readJournal(journalFile, table, skipped);
  const excluded = journal.excludedRuns(
    (id) => runs[table.index.get(id) ?? -1]?.trial ?? Number.NaN,
  );
  const noInvocations: InvocationFacts = {
    reports: new Map(),
    functionErrors: [],
    unbilled: [],
    clientSide: new Map(),
  };
  const { reports, functionErrors, unbilled, clientSide } = hasInvocations
    ? readInvocations(invFile, table, excluded, skipped)
    : noInvocations;

  const cols = new ColumnBuilder();
  const seen = new Set<string>();
  if (existsSync(recFile)) {
    forEachLine(recFile, (line, bytes) => {
      if (line.length === 0 || line.trim() === "") return;
      const r = parseRecordLine(line);
      if (r === null) {
        skipped.recordsMalformed++;
        return;
      }
      const ex = excluded.get(r.run_id);
      if (ex !== undefined) {
        ex.records++;
        return;
      }
      let ri = table.index.get(r.run_id);
      if (hasInvocations && (ri === undefined || table.runs[ri]?.invocations === 0)) {
        skipped.recordsForeign++;
        return;
      }
      if (ri === undefined) ri = table.of(r.run_id);
      // request_id names the invocation; without one, its run, start time and key do.
      const recKey =
        r.request_id !== "" ? r.request_id : `${r.run_id}|${r.ts_start_ms}|${r.s3_key}`;
      if (seen.has(recKey)) {
        skipped.recordsDuplicate++;
        return;
      }
      seen.add(recKey);
      const recBad = recordOutOfBounds(r);
      if (recBad !== undefined) {
        skipped.recordsOutOfBounds++;
        countOutOfBounds(skipped, `records.jsonl: ${recBad}`);
        return;
      }
      const run = table.runs[ri];
      if (run === undefined) return;
      if (run.cell === undefined) {
        run.cell = cellFromRecord(r);
        if (run.cellId === "") run.cellId = cellId(run.cell);
      }
      if (run.functionName === "") run.functionName = r.function_name;
      const rep = reports.get(r.request_id);
      let billed: number;
      if (rep !== undefined) {
        billed = rep.billedMs;
        reports.delete(r.request_id);
      } else {
        billed = billedDurationMs(r.latency_ms);
        run.billedFromLatency++;
      }
      // +1: the newline is ingested too.
      cols.push(ri, r, bytes + 1, billed, clientSide.get(r.request_id));
    });
  }
  for (const rep of reports.values()) {
    const run = runs[rep.run];
    if (run !== undefined) run.unmatchedReportBilledMs += rep.billedMs;
  }
  for (const fe of functionErrors) {
    const run = runs[fe.run];
    if (run !== undefined && !seen.has(fe.requestId)) run.functionErrorsWithoutRecord++;
  }
  for (const u of unbilled) {
    const run = runs[u.run];
    if (run !== undefined && !seen.has(u.requestId)) run.reachedUnbilled++;
  }
  const records = cols.build();
  if (!hasInvocations) {
    // Without the client's view, every record is one invocation that reached the function.
    for (let i = 0; i < records.length; i++) {
      const run = runs[records.run[i] ?? 0];
      if (run !== undefined) {
        run.invocations++;
        run.reached++;
      }
    }
  }
  // A run known only from the journal with neither invocations nor records carries no data.
  const live = runs.filter((r) => r.invocations > 0);
  if (live.length !== runs.length) {
    const remap = new Int32Array(runs.length).fill(-1);
    live.forEach((r, j) => {
      const i = table.index.get(r.runId);
      if (i !== undefined) remap[i] = j;
    });
    for (let i = 0; i < records.length; i++) records.run[i] = remap[records.run[i] ?? 0] ?? -1;
  }
  return {
    dir,
    manifest,
    runs: live,
    records,
    skipped,
    hasInvocations,
    excluded: [...excluded.values()],
    outcomes: journal.outcomes(live),
  };
}
