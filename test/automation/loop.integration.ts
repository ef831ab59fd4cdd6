import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import type { Harvester } from "../../automation/harvest";
import { AwsHarvester, cloudWatchLogsApi } from "../../automation/harvest-aws";
import { lambdaClientFor } from "../../automation/invoker";
import { Journal, readJournal } from "../../automation/journal";
import { JsonlAppender, readJsonl } from "../../automation/jsonl";
import { Ledger, liveEntries } from "../../automation/ledger";
import { LOGS_CLIENT_CONFIG, type RetryPolicy } from "../../automation/logs-retry";
import { runLoop } from "../../automation/loop";
import { type Cell, type CellSettings, cellId, DEFAULT_CELL_SETTINGS } from "../../core/cell";
import { functionName, newRunTag } from "../../core/names";
import { PROJECT_ROOT } from "../../core/paths";
import type { InvocationRecord } from "../../core/run-files";
import { sameForAll } from "../../core/workloads";
import { type LocalBackend, startLocalBackend } from "../../local/backend";
import { LocalDeployer } from "../../local/deployer";
import { type LogsFaults, localLogsClient } from "../../local/logs";

const CELL: Cell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 };
const ECHO = join(PROJECT_ROOT, "test", "fixtures", "lambda", "echo.js");

/** A harvester that finds nothing: these tests are about names, not records. */
const nothing: Harvester = {
  async harvest(req) {
    const expected = req.invocations.length;
    return { records: [], expected, found: 0, missing: expected, source: "none", counts: {} };
  },
};

async function backend(t: Test, logsFaults?: LogsFaults): Promise<LocalBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), "loop-names-"));
  const local = await startLocalBackend({
    dataDir,
    cpuScaling: "off",
    ...(logsFaults === undefined ? {} : { logsFaults }),
  });
  t.teardown(async () => {
    await local.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return local;
}

/** A function someone else left registered: the echo fixture under `name`. */
async function leak(local: LocalBackend, name: string): Promise<void> {
  await local.runtime.createFunction({
    functionName: name,
    memoryMb: 128,
    timeoutSeconds: 5,
    environment: {},
    bundlePath: ECHO,
  });
}

/** One cell, one trial of 2 invocations, through the real LocalDeployer and invoker. */
async function runOneCell(
  t: Test,
  local: LocalBackend,
  settings: CellSettings,
  earlierJournal: readonly object[] = [],
  harvester: Harvester = nothing,
  perTrial = 2,
) {
  const dir = mkdtempSync(join(tmpdir(), "loop-names-run-"));
  // What an interrupted attempt of this run directory left in the journal.
  writeFileSync(
    join(dir, "journal.jsonl"),
    earlierJournal.map((e) => `${JSON.stringify(e)}\n`).join(""),
  );
  const journal = new Journal(join(dir, "journal.jsonl"));
  const ledger = new Ledger(join(dir, "ledger.jsonl"));
  const invocationsOut = new JsonlAppender(join(dir, "invocations.jsonl"));
  const recordsOut = new JsonlAppender(join(dir, "records.jsonl"));
  const deployer = new LocalDeployer(local, settings, { bucketSuffix: "names1" });
  t.teardown(async () => {
    for (const c of [journal, ledger, invocationsOut, recordsOut]) c.close();
    await deployer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await deployer.prepare([CELL]);
  const summary = await runLoop(
    {
      deployer,
      harvesterFor: () => harvester,
      invokeClientFor: lambdaClientFor,
      resourceName: (c, attempt) => functionName(c, settings.namePrefix, settings.runTag, attempt),
      journal,
      ledger,
      invocationsOut,
      recordsOut,
      events: { phase: () => undefined, invocation: () => undefined },
      signal: new AbortController().signal,
    },
    {
      order: [CELL],
      invocations: { events: perTrial, batch: 1 },
      trials: 1,
      concurrency: sameForAll(2),
      parallel: 1,
      warmup: { events: 0, batch: 0 },
      load: { model: "closed" },
      seed: 1,
    },
  );
  const invocations = readJsonl(join(dir, "invocations.jsonl")) as InvocationRecord[];
  return { summary, invocations, journal: readJournal(join(dir, "journal.jsonl")), dir };
}

t.test(
  "a run succeeds beside leaked functions of the same cell: its names carry its own run tag",
  async (t) => {
    const local = await backend(t);
    // Leaked by a run from before tags, and by another (tagged) run in the same "account".
    const untagged = functionName(CELL);
    const otherRun = functionName(CELL, "", "zzzzzz");
    await leak(local, untagged);
    await leak(local, otherRun);
    const runTag = newRunTag();
    const ours = functionName(CELL, "", runTag);
    const r = await runOneCell(t, local, { ...DEFAULT_CELL_SETTINGS, runTag });
    t.same(r.summary.failed, [], "no cell failed");
    t.same(r.summary.done, [cellId(CELL)], "the cell is done");
    t.same(
      r.invocations.map((i) => [i.function_name, i.status_code]),
      [
        [ours, 200],
        [ours, 200],
      ],
      "both invocations reached this run's own function",
    );
    t.same(
      local.runtime.listFunctions().sort(),
      [otherRun, untagged].sort(),
      "the leaked functions are untouched; this run's is destroyed",
    );
    t.same(liveEntries(join(r.dir, "ledger.jsonl")), [], "nothing of this run left live");
  },
);

t.test(
  "a function already holding this run's name is Lambda's ResourceConflictException, never replaced",
  async (t) => {
    const local = await backend(t);
    const runTag = "a1b2c3";
    const ours = functionName(CELL, "", runTag);
    await leak(local, ours);
    const r = await runOneCell(t, local, { ...DEFAULT_CELL_SETTINGS, runTag });
    t.same(
      r.summary.failed,
      [
        {
          cellId: cellId(CELL),
          error: `ResourceConflictException: Function already exist: ${ours}`,
        },
      ],
      "the cell fails with Lambda's error, as `pulumi up` would on AWS",
    );
    t.same(r.invocations, [], "nothing was invoked");
    t.same(local.runtime.listFunctions(), [ours], "the other function is still there");
    t.equal(r.journal.at(-1)?.phase, "failed", "journaled failed");
  },
);

t.test(
  "a resumed cell deploys under a new name: its interrupted attempt's function leaked",
  async (t) => {
    const local = await backend(t);
    const runTag = "r3sum3";
    const first = functionName(CELL, "", runTag);
    const second = functionName(CELL, "", runTag, 2);
    t.equal(second, `${first}-2`, "the second attempt's name");
    // The interrupted attempt deployed, then the process died: its function is still there
    // (as on AWS, where its log group is also retained after a destroy).
    await leak(local, first);
    const ts = new Date().toISOString();
    const r = await runOneCell(t, local, { ...DEFAULT_CELL_SETTINGS, runTag }, [
      { ts, cell_id: cellId(CELL), phase: "deploying" },
      { ts, cell_id: cellId(CELL), phase: "failed", detail: { error: "unfinished attempt" } },
    ]);
    t.same(r.summary.failed, [], "no ResourceConflictException: the cell is done");
    t.same(
      r.invocations.map((i) => i.function_name),
      [second, second],
      "the invocations reached the second attempt's function",
    );
    const ours = r.journal.slice(2);
    t.same(ours[0]?.detail, { attempt: 2 }, "the deploying entry says which attempt");
    t.same(
      [ours[1]?.phase, ours[1]?.detail?.function_name, ours[1]?.detail?.log_group],
      ["deployed", second, `/aws/lambda/${second}`],
      "the deployed entry records the names the reharvest and the analysis read",
    );
    t.same(local.runtime.listFunctions(), [first], "the second attempt's function is destroyed");
    t.same(liveEntries(join(r.dir, "ledger.jsonl")), [], "and gone from the ledger");
  },
);

/** The production harvester (client config included) against the backend's Logs API. */
function awsHarvester(t: Test, local: LocalBackend, retry?: RetryPolicy): Harvester {
  const client = localLogsClient(local.logs.endpoint, local.logs.region, LOGS_CLIENT_CONFIG);
  t.teardown(() => client.destroy());
  return new AwsHarvester(cloudWatchLogsApi(client), {
    pollMs: 20,
    retryMs: 100,
    queryTimeoutMs: 5_000,
    lagDeadlineMs: 300,
    slackMs: 5_000,
    ...(retry === undefined ? {} : { retry }),
  });
}

/** The run's `harvested` journal entry's detail, and the record request ids of records.jsonl. */
function harvested(r: Awaited<ReturnType<typeof runOneCell>>) {
  const entry = r.journal.find((e) => e.phase === "harvested");
  const records = readJsonl(join(r.dir, "records.jsonl")) as { request_id?: string }[];
  return { detail: entry?.detail, recordIds: records.map((x) => x.request_id).sort() };
}

t.test(
  "the loop over the local backend: a partial Insights answer is completed by FilterLogEvents from the runtime's JSON logs",
  async (t) => {
    const local = await backend(t, { insightsPartial: { maxRecords: 1 } });
    const r = await runOneCell(t, local, DEFAULT_CELL_SETTINGS, [], awsHarvester(t, local), 3);
    t.same(r.summary.failed, [], "the cell is done");
    const { detail, recordIds } = harvested(r);
    t.same(
      detail,
      {
        run_id: r.invocations[0]?.run_id,
        expected: 3,
        found: 3,
        missing: 0,
        source: "insights+filter-log-events",
        counts: { insights: 1, "filter-log-events": 2 },
      },
      "the journal: one record from Insights, two from FilterLogEvents",
    );
    t.same(
      recordIds,
      r.invocations.map((i) => i.request_id).sort(),
      "records.jsonl holds one record per invocation",
    );
    t.ok(
      r.invocations.every((i) => i.report?.billed_duration_ms !== undefined),
      "the tails carried JSON platform.report data",
    );
  },
);

t.test(
  "the loop over the local backend: FilterLogEvents throttled for good, the invoke tails fill in",
  async (t) => {
    const local = await backend(t, {
      insightsPartial: { maxRecords: 1 },
      throttle: [{ operation: "FilterLogEvents" }],
    });
    const retry = { maxAttempts: 2, baseMs: 10, capMs: 10 };
    const r = await runOneCell(
      t,
      local,
      DEFAULT_CELL_SETTINGS,
      [],
      awsHarvester(t, local, retry),
      3,
    );
    t.same(r.summary.failed, [], "the cell is done");
    const { detail, recordIds } = harvested(r);
    t.same(
      detail,
      {
        run_id: r.invocations[0]?.run_id,
        expected: 3,
        found: 3,
        missing: 0,
        source: "insights+tail",
        counts: { insights: 1, tail: 2 },
        notes: [
          "filter-log-events stopped: throttled: FilterLogEvents: ThrottlingException: Rate exceeded (after 2 attempts)",
        ],
      },
      "the journal: one record from Insights, two from the tails, and why",
    );
    t.same(
      recordIds,
      r.invocations.map((i) => i.request_id).sort(),
      "records.jsonl holds one record per invocation",
    );
  },
);
