/**
 * What `--reharvest DIR` collects again: from the run directory's manifest, journal and
 * invocations.jsonl, the runs left incomplete (their latest `harvested` entry counts missing
 * records) or never harvested, each with the deployed cell its log group belongs to.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DeployedCell } from "../core/deployer";
import { asEmfRecord, type EmfRecord } from "../core/emf";
import { InvalidInputError } from "../core/errors";
import {
  asInvocationRecord,
  type InvocationRecord,
  type JournalEntry,
  type Manifest,
  RUN_FILES,
  readManifest,
} from "../core/run-files";
import { latestHarvests, readJournal } from "./journal";
import { readJsonl } from "./jsonl";

/** One run to collect again, with what the run directory knows of it. */
export interface RecheckRun {
  readonly runId: string;
  readonly cellId: string;
  readonly trial: number;
  readonly deployed: DeployedCell;
  readonly invocations: readonly InvocationRecord[];
  /** Its records already in records.jsonl. */
  readonly known: readonly EmfRecord[];
  /** Missing records by its latest `harvested` entry; undefined when it was never harvested. */
  readonly previousMissing?: number;
}

/** What `--reharvest` found to do in a run directory. */
export interface ReharvestPlan {
  readonly runs: readonly RecheckRun[];
  /** Runs whose latest `harvested` entry says nothing is missing. */
  readonly complete: number;
  /** Runs `--resume` discarded (their cell was redone): never rechecked, analysis leaves them out. */
  readonly discarded: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An invocation line with the client times the harvest window is built from, else null. */
function asInvocation(v: unknown): InvocationRecord | null {
  const inv = asInvocationRecord(v);
  if (inv === null) return null;
  if (typeof inv.client_start_ms !== "number" || typeof inv.client_end_ms !== "number") return null;
  return inv;
}

const ALLOWED = `an existing run directory (results/<run>) with ${RUN_FILES.manifest} and ${RUN_FILES.journal}`;

/** The cell as deployed for a run: the cell's latest `deployed` entry before the run started. */
function deployedCell(
  cellId: string,
  region: string,
  detail: Readonly<Record<string, unknown>> | undefined,
  invocation: InvocationRecord | undefined,
): DeployedCell {
  const str = (k: string): string | undefined =>
    typeof detail?.[k] === "string" ? (detail[k] as string) : undefined;
  const functionName = str("function_name") ?? invocation?.function_name ?? "";
  const endpoints = isObject(detail?.endpoints) ? (detail.endpoints as Record<string, string>) : {};
  return {
    cellId,
    functionName,
    bucket: str("bucket") ?? "",
    // Lambda's default log group when the journal predates the deployed detail.
    logGroup: str("log_group") ?? `/aws/lambda/${functionName}`,
    region,
    endpoints,
  };
}

/**
 * Reads a run directory and lists the runs to recheck. Bad input (no such directory, no
 * manifest, no journal) is an {@link InvalidInputError} naming `--reharvest`.
 */
export function planReharvest(dir: string): { manifest: Manifest; plan: ReharvestPlan } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InvalidInputError("--reharvest", dir, ALLOWED);
  }
  const manifest = readManifest(dir, "--reharvest");
  const journalFile = join(dir, RUN_FILES.journal);
  if (!existsSync(journalFile)) throw new InvalidInputError("--reharvest", dir, ALLOWED);
  const entries = readJournal(journalFile);

  const lastDeployed = new Map<string, JournalEntry>();
  const started = new Map<string, { cellId: string; trial: number; deployed?: JournalEntry }>();
  const discarded = new Set<string>();
  for (const e of entries) {
    if (e.phase === "deployed") lastDeployed.set(e.cell_id, e);
    if (e.phase === "trial-start" && e.run_id !== undefined) {
      const deployed = lastDeployed.get(e.cell_id);
      started.set(e.run_id, {
        cellId: e.cell_id,
        trial: e.trial ?? Number.NaN,
        ...(deployed === undefined ? {} : { deployed }),
      });
    }
    const ids = e.phase === "failed" ? e.detail?.discarded_run_ids : undefined;
    if (Array.isArray(ids)) for (const id of ids) if (typeof id === "string") discarded.add(id);
  }
  const harvests = latestHarvests(entries);

  const invocations = new Map<string, InvocationRecord[]>();
  for (const v of readJsonl(join(dir, RUN_FILES.invocations))) {
    const inv = asInvocation(v);
    if (inv === null) continue;
    let list = invocations.get(inv.run_id);
    if (list === undefined) {
      list = [];
      invocations.set(inv.run_id, list);
    }
    list.push(inv);
  }
  const known = new Map<string, EmfRecord[]>();
  for (const v of readJsonl(join(dir, RUN_FILES.records))) {
    const r = asEmfRecord(v);
    if (r === null) continue;
    let list = known.get(r.run_id);
    if (list === undefined) {
      list = [];
      known.set(r.run_id, list);
    }
    list.push(r);
  }

  const runs: RecheckRun[] = [];
  let complete = 0;
  let discardedRuns = 0;
  for (const [runId, invs] of invocations) {
    if (discarded.has(runId)) {
      discardedRuns++;
      continue;
    }
    const harvested = harvests.get(runId);
    const missing = harvested?.detail?.missing;
    if (harvested !== undefined && !(typeof missing === "number" && missing > 0)) {
      complete++;
      continue;
    }
    const first = invs[0];
    const s = started.get(runId);
    const cellId = s?.cellId ?? first?.cell_id ?? "";
    runs.push({
      runId,
      cellId,
      trial: s?.trial ?? first?.trial ?? Number.NaN,
      deployed: deployedCell(cellId, manifest.region, s?.deployed?.detail, first),
      invocations: invs,
      known: known.get(runId) ?? [],
      ...(typeof missing === "number" ? { previousMissing: missing } : {}),
    });
  }
  return { manifest, plan: { runs, complete, discarded: discardedRuns } };
}
