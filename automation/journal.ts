/**
 * `journal.jsonl`: one line per cell phase, append-only and fsync'd; what `--resume` reads to
 * decide which cells are finished.
 */
import {
  type CellPhase,
  type JournalEntry,
  movesCellState,
  readJournalFile,
} from "../core/run-files";
import { JsonlAppender } from "./jsonl";

/** The journal of a run directory. */
export class Journal {
  private readonly out: JsonlAppender;
  /** `deploying` entries per cell, the file's earlier ones included (earlier attempts). */
  private readonly deploys = new Map<string, number>();

  constructor(file: string) {
    for (const e of readJournal(file)) {
      if (e.phase === "deploying")
        this.deploys.set(e.cell_id, (this.deploys.get(e.cell_id) ?? 0) + 1);
    }
    this.out = new JsonlAppender(file);
  }

  /**
   * The cell's deploy attempt in this run: 1 + its `deploying` entries so far, those of
   * interrupted runs of this directory included (what `--resume` continues).
   */
  nextDeployAttempt(cellId: string): number {
    return (this.deploys.get(cellId) ?? 0) + 1;
  }

  /** Appends one phase of a cell, stamped with the current time. */
  write(
    cellId: string,
    phase: CellPhase,
    extra: Omit<JournalEntry, "ts" | "cell_id" | "phase"> = {},
  ): JournalEntry {
    const entry: JournalEntry = { ts: new Date().toISOString(), cell_id: cellId, phase, ...extra };
    if (phase === "deploying") this.deploys.set(cellId, this.nextDeployAttempt(cellId));
    this.out.append(entry);
    return entry;
  }

  close(): void {
    this.out.close();
  }
}

/** Reads a journal's valid entries in order (core/run-files.ts readJournalFile). */
export function readJournal(file: string): JournalEntry[] {
  return readJournalFile(file).entries;
}

/** The ids of cells whose journal says `done`: `--resume` skips exactly these. */
export function doneCells(entries: readonly JournalEntry[]): Set<string> {
  return new Set(entries.filter((e) => e.phase === "done").map((e) => e.cell_id));
}

/** The ids of cells that started but did not finish (deploying seen, no done after it). */
export function unfinishedCells(entries: readonly JournalEntry[]): Set<string> {
  const last = new Map<string, CellPhase>();
  for (const e of entries) {
    if (movesCellState(e.phase, last.get(e.cell_id))) last.set(e.cell_id, e.phase);
  }
  return new Set([...last].filter(([, phase]) => phase !== "done").map(([id]) => id));
}

/** Each run's latest `harvested` entry (a `--reharvest` supersedes the loop's), by run id. */
export function latestHarvests(entries: readonly JournalEntry[]): Map<string, JournalEntry> {
  const latest = new Map<string, JournalEntry>();
  for (const e of entries) {
    if (e.phase === "harvested" && e.run_id !== undefined) latest.set(e.run_id, e);
  }
  return latest;
}

/** Records still missing over all runs, by each run's latest `harvested` entry. */
export function missingRecords(entries: readonly JournalEntry[]): number {
  let missing = 0;
  for (const e of latestHarvests(entries).values()) {
    if (typeof e.detail?.missing === "number") missing += e.detail.missing;
  }
  return missing;
}
