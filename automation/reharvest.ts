/**
 * `--reharvest DIR`: collects again the records of a finished (or failed) run directory's runs
 * that were left incomplete — whose latest `harvested` entry counts missing records, or that
 * were never harvested although their invocations are in invocations.jsonl — with the same
 * {@link AwsHarvester} as the loop, against the backend's CloudWatch Logs (log groups outlive
 * the cells). New records are appended to records.jsonl (never one already there), each run
 * rechecked gets a new `harvested` entry, and a summary says what is still missing and why.
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
import { localLogsClient, startLogsServer } from "../local/logs";
import { type Harvester, type HarvestResult, harvestedDetail, recordKey } from "./harvest";
import { AwsHarvester, cloudWatchLogsApi, harvestLogsClient } from "./harvest-aws";
import { Journal, latestHarvests, readJournal } from "./journal";
import { JsonlAppender, readJsonl } from "./jsonl";
import type { HarvestReason } from "./logs-retry";
import { LOGS_CLIENT_CONFIG } from "./logs-retry";

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

/** What re-harvesting one run changed. */
export interface RecheckResult {
  readonly run: RecheckRun;
  readonly result: HarvestResult;
  /** Records appended to records.jsonl. */
  readonly added: number;
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

/**
 * Harvests each planned run again; appends the records not yet in records.jsonl and journals a
 * `harvested` entry per run (with `reharvest`: what it was missing before, what it added).
 */
export async function reharvestRuns(
  dir: string,
  plan: ReharvestPlan,
  harvester: Harvester,
  signal?: AbortSignal,
): Promise<RecheckResult[]> {
  const journal = new Journal(join(dir, RUN_FILES.journal));
  const records = new JsonlAppender(join(dir, RUN_FILES.records));
  const out: RecheckResult[] = [];
  try {
    for (const run of plan.runs) {
      signal?.throwIfAborted();
      const result = await harvester.harvest(
        {
          deployed: run.deployed,
          runId: run.runId,
          startMs: Math.min(...run.invocations.map((i) => i.client_start_ms)),
          endMs: Math.max(...run.invocations.map((i) => i.client_end_ms)),
          invocations: run.invocations,
          known: run.known,
        },
        signal,
      );
      const have = new Set(run.known.map(recordKey));
      let added = 0;
      for (const r of result.records) {
        const key = recordKey(r);
        if (r.run_id !== run.runId || have.has(key)) continue;
        have.add(key);
        records.append(r);
        added++;
      }
      journal.write(run.cellId, "harvested", {
        run_id: run.runId,
        ...(Number.isNaN(run.trial) ? {} : { trial: run.trial }),
        detail: {
          ...harvestedDetail(run.runId, result),
          reharvest: { previous_missing: run.previousMissing ?? null, added },
        },
      });
      out.push({ run, result, added });
    }
  } finally {
    journal.close();
    records.close();
  }
  return out;
}

function reasonText(reason: HarvestReason | undefined): string {
  return reason === undefined ? "no reason recorded" : `${reason.code}: ${reason.message}`;
}

/** The summary `--reharvest` prints. */
export function formatReharvestSummary(
  dir: string,
  plan: ReharvestPlan,
  results: readonly RecheckResult[],
): string {
  const neverHarvested = plan.runs.filter((r) => r.previousMissing === undefined).length;
  const lines = [
    `Re-harvest of ${dir}: ${plan.runs.length} runs rechecked (${plan.runs.length - neverHarvested} with records missing, ${neverHarvested} never harvested); ${plan.complete} already complete, ${plan.discarded} discarded by --resume skipped.`,
  ];
  for (const { run, result, added } of results) {
    const before =
      run.previousMissing === undefined ? "never harvested" : `${run.previousMissing} missing`;
    lines.push(
      `  ${run.runId} ${run.cellId} trial ${run.trial}: ${before}, ${added} records found, ${result.missing} still missing${result.missing > 0 ? ` (${reasonText(result.reason)})` : ""}`,
    );
  }
  const found = results.reduce((s, r) => s + r.added, 0);
  const missing = results.reduce((s, r) => s + r.result.missing, 0);
  const incomplete = results.filter((r) => r.result.missing > 0).length;
  lines.push(
    missing === 0
      ? `Found ${found} records; nothing is missing any more.`
      : `Found ${found} records; ${missing} still missing in ${incomplete} runs.`,
  );
  return `${lines.join("\n")}\n`;
}

/** A harvester for a run directory's backend, and how to release what it holds. */
export interface ReharvestBackend {
  readonly harvester: Harvester;
  close(): Promise<void>;
}

/** Opens the harvester of a run directory's backend (injectable for tests). */
export type OpenReharvestBackend = (manifest: Manifest, dir: string) => Promise<ReharvestBackend>;

/**
 * The harvester of a run directory: on `aws` a CloudWatch Logs client for the manifest's region
 * (the log groups are retained after destroy); on `local` the local Logs server over the run's
 * stored logs. Ingestion lag is long over, so no re-query waits for it.
 */
export const openReharvestBackend: OpenReharvestBackend = async (manifest, dir) => {
  if (manifest.backend === "aws") {
    const client = harvestLogsClient(manifest.region);
    return {
      harvester: new AwsHarvester(cloudWatchLogsApi(client), { lagDeadlineMs: 0 }),
      async close() {
        client.destroy();
      },
    };
  }
  const server = await startLogsServer({
    logDir: join(dir, ".local", "logs"),
    region: manifest.region,
  });
  const client = localLogsClient(server.endpoint, server.region, LOGS_CLIENT_CONFIG);
  return {
    harvester: new AwsHarvester(cloudWatchLogsApi(client), { lagDeadlineMs: 0, pollMs: 50 }),
    async close() {
      client.destroy();
      await server.stop();
    },
  };
};

/** The exit codes of `--reharvest`: 0 nothing missing any more, 1 records still missing. */
export async function reharvest(
  dir: string,
  out: { stdout: NodeJS.WritableStream },
  options: { open?: OpenReharvestBackend; signal?: AbortSignal } = {},
): Promise<0 | 1> {
  const { manifest, plan } = planReharvest(dir);
  if (plan.runs.length === 0) {
    out.stdout.write(
      `Nothing to re-harvest in ${dir}: ${plan.complete} runs complete, ${plan.discarded} discarded by --resume.\n`,
    );
    return 0;
  }
  const backend = await (options.open ?? openReharvestBackend)(manifest, dir);
  try {
    const results = await reharvestRuns(dir, plan, backend.harvester, options.signal);
    out.stdout.write(formatReharvestSummary(dir, plan, results));
    return results.some((r) => r.result.missing > 0) ? 1 : 0;
  } finally {
    await backend.close();
  }
}
