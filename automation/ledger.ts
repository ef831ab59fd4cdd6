/**
 * `ledger.jsonl`: what may be live and billed. A `live` line is written before a deploy
 * starts (a half-created stack must be found too) and a `gone` line after its destroy;
 * `--cleanup` and `--resume` destroy every entry whose last line is `live`.
 */
import type { Cell } from "../core/cell";
import type { Backend } from "../core/run-files";
import { JsonlAppender, readJsonl } from "./jsonl";

/** One ledger line. */
export interface LedgerEntry {
  readonly ts: string;
  readonly state: "live" | "gone";
  readonly backend: Backend;
  readonly cell_id: string;
  readonly cell: Cell;
  /** The Pulumi stack (aws) or local function name: what must be destroyed. */
  readonly resource: string;
}

/** The ledger of a run directory. */
export class Ledger {
  private readonly out: JsonlAppender;

  constructor(file: string) {
    this.out = new JsonlAppender(file);
  }

  /** Records that `resource` of a cell may now be live. */
  live(backend: Backend, cellId: string, cell: Cell, resource: string): void {
    this.write("live", backend, cellId, cell, resource);
  }

  /** Records that `resource` of a cell has been destroyed. */
  gone(backend: Backend, cellId: string, cell: Cell, resource: string): void {
    this.write("gone", backend, cellId, cell, resource);
  }

  private write(
    state: LedgerEntry["state"],
    backend: Backend,
    cellId: string,
    cell: Cell,
    resource: string,
  ): void {
    const entry: LedgerEntry = {
      ts: new Date().toISOString(),
      state,
      backend,
      cell_id: cellId,
      cell,
      resource,
    };
    this.out.append(entry);
  }

  close(): void {
    this.out.close();
  }
}

function isLedgerEntry(v: unknown): v is LedgerEntry {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    (o.state === "live" || o.state === "gone") &&
    (o.backend === "local" || o.backend === "aws") &&
    typeof o.cell_id === "string" &&
    typeof o.resource === "string" &&
    typeof o.cell === "object" &&
    o.cell !== null
  );
}

/** The entries whose last line is `live`: resources that may still exist. */
export function liveEntries(file: string): LedgerEntry[] {
  const last = new Map<string, LedgerEntry>();
  for (const v of readJsonl(file)) {
    if (isLedgerEntry(v)) last.set(`${v.backend}\u0000${v.resource}`, v);
  }
  return [...last.values()].filter((e) => e.state === "live");
}
