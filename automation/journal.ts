/**
 * `journal.jsonl`: one line per cell phase, append-only and fsync'd; what `--resume` reads to
 * decide which cells are finished.
 */
import type { CellPhase, JournalEntry } from "../core/run-files";
import { JsonlAppender, readJsonl } from "./jsonl";

const PHASES: readonly CellPhase[] = [
  "deploying",
  "deployed",
  "trial-start",
  "trial-done",
  "harvested",
  "destroying",
  "destroyed",
  "done",
  "failed",
];

/** The journal of a run directory. */
export class Journal {
  private readonly out: JsonlAppender;

  constructor(file: string) {
    this.out = new JsonlAppender(file);
  }

  /** Appends one phase of a cell, stamped with the current time. */
  write(
    cellId: string,
    phase: CellPhase,
    extra: Omit<JournalEntry, "ts" | "cell_id" | "phase"> = {},
  ): JournalEntry {
    const entry: JournalEntry = { ts: new Date().toISOString(), cell_id: cellId, phase, ...extra };
    this.out.append(entry);
    return entry;
  }

  close(): void {
    this.out.close();
  }
}

function isEntry(v: unknown): v is JournalEntry {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.ts === "string" &&
    typeof o.cell_id === "string" &&
    (PHASES as readonly unknown[]).includes(o.phase)
  );
}

/** Reads a journal's valid entries in order. */
export function readJournal(file: string): JournalEntry[] {
  return readJsonl(file).filter(isEntry);
}

/** The ids of cells whose journal says `done`: `--resume` skips exactly these. */
export function doneCells(entries: readonly JournalEntry[]): Set<string> {
  return new Set(entries.filter((e) => e.phase === "done").map((e) => e.cell_id));
}

/** The ids of cells that started but did not finish (deploying seen, no done after it). */
export function unfinishedCells(entries: readonly JournalEntry[]): Set<string> {
  const last = new Map<string, CellPhase>();
  for (const e of entries) last.set(e.cell_id, e.phase);
  return new Set([...last].filter(([, phase]) => phase !== "done").map(([id]) => id));
}
