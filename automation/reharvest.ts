/**
 * `--reharvest DIR`: collects again the records of a finished (or failed) run directory's runs
 * that were left incomplete — whose latest `harvested` entry counts missing records, or that
 * were never harvested although their invocations are in invocations.jsonl — with the same
 * {@link AwsHarvester} as the loop, against the backend's CloudWatch Logs (log groups outlive
 * the cells). New records are appended to records.jsonl (never one already there), each run
 * rechecked gets a new `harvested` entry, and a summary says what is still missing and why.
 */
import { join } from "node:path";
import { type Manifest, RUN_FILES } from "../core/run-files";
import { localLogsClient, startLogsServer } from "../local/logs";
import { type Harvester, type HarvestResult, harvestedDetail, recordKey } from "./harvest";
import { AwsHarvester, cloudWatchLogsApi, harvestLogsClient } from "./harvest-aws";
import { Journal } from "./journal";
import { JsonlAppender } from "./jsonl";
import type { HarvestReason } from "./logs-retry";
import { LOGS_CLIENT_CONFIG } from "./logs-retry";
import { planReharvest, type RecheckRun, type ReharvestPlan } from "./reharvest-plan";

/** What re-harvesting one run changed. */
export interface RecheckResult {
  readonly run: RecheckRun;
  readonly result: HarvestResult;
  /** Records appended to records.jsonl. */
  readonly added: number;
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
