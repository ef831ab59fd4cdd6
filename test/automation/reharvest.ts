import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { AccessDeniedException } from "@aws-sdk/client-cloudwatch-logs";
import t, { type Test } from "tap";
import { analyseRun } from "../../analysis/analyze";
import { AwsHarvester, type LogsApi } from "../../automation/harvest-aws";
import { readJournal, unfinishedCells } from "../../automation/journal";
import { readJsonl } from "../../automation/jsonl";
import { LogsLimiter } from "../../automation/logs-quota";
import { type OpenReharvestBackend, reharvest } from "../../automation/reharvest";
import { planReharvest } from "../../automation/reharvest-plan";
import { EXIT, main } from "../../automation/run";
import { type Cell, cellId, type EventsCell } from "../../core/cell";
import { buildEmfLine, type EmfRecord } from "../../core/emf";
import { functionName } from "../../core/names";
import {
  type InvocationRecord,
  type JournalEntry,
  type Manifest,
  RUN_FILES,
} from "../../core/run-files";
import { sameForAll } from "../../core/workloads";
import { fakeRunIo } from "../helpers/run-io";

const A: EventsCell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 };
const B: EventsCell = { ...A, batchEvents: 10 };
const C: EventsCell = { ...A, batchEvents: 100 };
const T0 = 1_800_000_000_000;

const R1 = "run_1800000000001_aaaaaa"; // A trial 1: harvested complete
const R2 = "run_1800000000002_bbbbbb"; // A trial 2: harvested, 2 of 3 missing
const R3 = "run_1800000000003_cccccc"; // B trial 1: never harvested (the cell failed)
const R4 = "run_1800000000004_dddddd"; // C: discarded by --resume

const logGroup = (c: Cell) => `/aws/lambda/${functionName(c)}-x1`;

function record(runId: string, cell: EventsCell, seq: number): EmfRecord {
  return {
    ts_start_ms: T0 + seq * 10,
    ts_end_ms: T0 + seq * 10 + 50,
    latency_ms: 50,
    workload: "events",
    run_id: runId,
    function_name: functionName(cell),
    region: "us-east-1",
    memory_mb: cell.memoryMb,
    reserved_concurrency: cell.reservedConcurrency,
    events_generated: cell.batchEvents,
    object_bytes: 1024 * cell.batchEvents,
    multipart_part_mb: 0,
    multipart_parts: 0,
    s3_bucket: "bucket",
    s3_key: `events/512mb/${runId}/${seq}.jsonl`,
    schema_version: 1,
    request_id: `${runId}-req-${seq}`,
    cold_start: seq === 0,
    ok: true,
    batch_events: cell.batchEvents,
    event_bytes: 1024,
    object_mb: 0,
  };
}

function invocation(
  runId: string,
  cell: EventsCell,
  trial: number,
  seq: number,
  throttled = false,
): InvocationRecord {
  return {
    run_id: runId,
    cell_id: cellId(cell),
    function_name: functionName(cell),
    workload: "events",
    trial,
    seq,
    ...(throttled ? {} : { request_id: `${runId}-req-${seq}` }),
    client_start_ms: T0 + seq * 10,
    client_end_ms: T0 + seq * 10 + 60,
    status_code: throttled ? 429 : 200,
    throttled,
  };
}

const jsonl = (xs: unknown[]) => xs.map((x) => `${JSON.stringify(x)}\n`).join("");

/**
 * A run directory as the loop leaves it: A done (R1 complete, R2 missing two records), B failed
 * before harvesting R3, C's R4 discarded by --resume.
 */
function runDir(t: Test, backend: "aws" | "local" = "aws"): string {
  const dir = mkdtempSync(join(tmpdir(), "reharvest-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cells = [A, B, C];
  const manifest: Manifest = {
    schema_version: 1,
    tool_version: "test",
    created_at: "2026-12-01T00:00:00.000Z",
    backend,
    region: "eu-west-1",
    architecture: "arm64",
    matrix: "workload=events,memory=512",
    cells: cells.map((c) => ({ cell_id: cellId(c), cell: c, function_name: functionName(c) })),
    order_seed: 1,
    cell_order: cells.map(cellId),
    invocations: { events: 3, batch: 1 },
    trials: 2,
    concurrency: sameForAll(2),
    parallel: 1,
    object_mb: 100,
    event_bytes: 1024,
    name_prefix: "",
    versions: { node: "22" },
  };
  writeFileSync(join(dir, RUN_FILES.manifest), JSON.stringify(manifest));
  const j = (c: Cell, phase: JournalEntry["phase"], extra: Partial<JournalEntry> = {}) => ({
    ts: "2026-12-01T00:00:00.000Z",
    cell_id: cellId(c),
    phase,
    ...extra,
  });
  const deployed = (c: Cell) =>
    j(c, "deployed", {
      detail: {
        function_name: functionName(c),
        bucket: "bucket",
        log_group: logGroup(c),
        endpoints: {},
      },
    });
  const harvested = (c: Cell, runId: string, trial: number, expected: number, found: number) =>
    j(c, "harvested", {
      run_id: runId,
      trial,
      detail: { run_id: runId, expected, found, missing: expected - found, source: "insights" },
    });
  writeFileSync(
    join(dir, RUN_FILES.journal),
    jsonl([
      j(A, "deploying"),
      deployed(A),
      j(A, "trial-start", { run_id: R1, trial: 1 }),
      j(A, "trial-done", { run_id: R1, trial: 1 }),
      j(A, "trial-start", { run_id: R2, trial: 2 }),
      j(A, "trial-done", { run_id: R2, trial: 2 }),
      harvested(A, R1, 1, 2, 2),
      harvested(A, R2, 2, 3, 1),
      j(A, "destroying"),
      j(A, "destroyed"),
      j(A, "done"),
      j(B, "deploying"),
      deployed(B),
      j(B, "trial-start", { run_id: R3, trial: 1 }),
      j(B, "trial-done", { run_id: R3, trial: 1 }),
      j(B, "destroying"),
      j(B, "destroyed"),
      j(B, "failed", { detail: { error: "Error: harvest crashed" } }),
      j(C, "deploying"),
      deployed(C),
      j(C, "trial-start", { run_id: R4, trial: 1 }),
      j(C, "failed", {
        detail: { error: "unfinished attempt discarded by --resume", discarded_run_ids: [R4] },
      }),
    ]),
  );
  writeFileSync(
    join(dir, RUN_FILES.invocations),
    jsonl([
      invocation(R1, A, 1, 0),
      invocation(R1, A, 1, 1),
      invocation(R2, A, 2, 0),
      invocation(R2, A, 2, 1),
      invocation(R2, A, 2, 2),
      invocation(R2, A, 2, 3, true),
      invocation(R3, B, 1, 0),
      invocation(R3, B, 1, 1),
      invocation(R4, C, 1, 0),
    ]),
  );
  writeFileSync(
    join(dir, RUN_FILES.records),
    jsonl([record(R1, A, 0), record(R1, A, 1), record(R2, A, 1)]),
  );
  return dir;
}

/** CloudWatch Logs holding the given EMF lines per log group (Insights and FilterLogEvents). */
function logsWith(lines: Record<string, string[]>) {
  const calls: string[] = [];
  const runOf = (s: string) => /run_\d{13}_[a-z0-9]{6}/.exec(s)?.[0] ?? "";
  const queries = new Map<string, string[]>();
  const api: LogsApi = {
    async startQuery(input) {
      calls.push(`StartQuery ${input.logGroupName}`);
      const run = runOf(input.queryString);
      const id = `q${queries.size}`;
      queries.set(
        id,
        (lines[input.logGroupName] ?? []).filter((l) => l.includes(run)),
      );
      return id;
    },
    async getQueryResults(id) {
      return {
        status: "Complete",
        rows: (queries.get(id) ?? []).map((m) => [
          { field: "@timestamp", value: "2027-01-15 08:00:00.000" },
          { field: "@message", value: m },
        ]),
      };
    },
    async filterLogEvents(input) {
      calls.push(`FilterLogEvents ${input.logGroupName}`);
      const run = runOf(input.filterPattern);
      return { messages: (lines[input.logGroupName] ?? []).filter((l) => l.includes(run)) };
    },
  };
  return { api, calls };
}

const line = (r: EmfRecord) => JSON.stringify(buildEmfLine(r));

function backendOf(api: LogsApi, opened: Manifest[] = []): OpenReharvestBackend {
  return async (manifest) => {
    opened.push(manifest);
    return {
      harvester: new AwsHarvester(api, {
        lagDeadlineMs: 0,
        pollMs: 1,
        limiter: new LogsLimiter({ filterLogEventsTps: 1000 }),
      }),
      async close() {},
    };
  };
}

function output() {
  const stdout = new PassThrough();
  let text = "";
  stdout.on("data", (c: Buffer) => {
    text += c.toString();
  });
  return { stdout, text: () => text };
}

t.test(
  "the plan: runs with missing records and never-harvested runs; complete and discarded ones are skipped",
  async (t) => {
    const dir = runDir(t);
    const { plan } = planReharvest(dir);
    t.same(
      plan.runs.map((r) => [r.runId, r.cellId, r.trial, r.previousMissing, r.known.length]),
      [
        [R2, cellId(A), 2, 2, 1],
        [R3, cellId(B), 1, undefined, 0],
      ],
      "R2 (2 missing) and R3 (never harvested)",
    );
    t.equal(plan.complete, 1, "R1 complete");
    t.equal(plan.discarded, 1, "R4 discarded");
    t.same(
      plan.runs[0]?.deployed,
      {
        cellId: cellId(A),
        functionName: functionName(A),
        bucket: "bucket",
        logGroup: logGroup(A),
        region: "eu-west-1",
        endpoints: {},
      },
      "the cell as deployed, in the manifest's region",
    );
  },
);

t.test(
  "records found later are appended once, journaled, and the analysis counts them",
  async (t) => {
    const dir = runDir(t);
    const before = analyseRun(dir);
    t.same(
      before.runs.map((r) => [r.runId, r.missing]).sort(),
      [
        [R1, 0],
        [R2, 2],
      ],
      "before: R2 misses two, R3 is left out",
    );
    t.same(
      before.excluded.map((x) => [x.runId, x.kind]),
      [
        [R4, "discarded"],
        [R3, "not-harvested"],
      ],
      "before: R3 never harvested",
    );
    const logs = logsWith({
      [logGroup(A)]: [0, 1, 2].map((i) => line(record(R2, A, i))),
      [logGroup(B)]: [line(record(R3, B, 0))],
    });
    const opened: Manifest[] = [];
    const out = output();
    const code = await reharvest(dir, out, { open: backendOf(logs.api, opened) });
    t.equal(code, 1, "exit 1: R3 still misses a record");
    t.equal(opened[0]?.region, "eu-west-1", "the backend opened for the manifest");
    t.same(
      logs.calls,
      [`StartQuery ${logGroup(A)}`, `StartQuery ${logGroup(B)}`, `FilterLogEvents ${logGroup(B)}`],
      "each run's own log group; R3 falls back to FilterLogEvents",
    );
    const records = readJsonl(join(dir, RUN_FILES.records)) as EmfRecord[];
    t.same(
      records.map((r) => r.request_id),
      [`${R1}-req-0`, `${R1}-req-1`, `${R2}-req-1`, `${R2}-req-0`, `${R2}-req-2`, `${R3}-req-0`],
      "three new records appended, the one already there not again",
    );
    const entries = readJournal(join(dir, RUN_FILES.journal));
    const added = entries.slice(-2);
    t.same(
      added.map((e) => [e.cell_id, e.phase, e.run_id, e.trial]),
      [
        [cellId(A), "harvested", R2, 2],
        [cellId(B), "harvested", R3, 1],
      ],
      "one harvested entry per rechecked run",
    );
    t.same(
      added[0]?.detail,
      {
        run_id: R2,
        expected: 3,
        found: 3,
        missing: 0,
        source: "insights",
        counts: { insights: 2 },
        reharvest: { previous_missing: 2, added: 2 },
      },
      "R2: complete now, two added",
    );
    t.same(
      added[1]?.detail,
      {
        run_id: R3,
        expected: 2,
        found: 1,
        missing: 1,
        source: "insights",
        counts: { insights: 1, "filter-log-events": 0, tail: 0 },
        reharvest: { previous_missing: null, added: 1 },
        reason: {
          code: "not-in-logs",
          message:
            "1 of 2 records found in none of Logs Insights, FilterLogEvents and the log tails",
        },
      },
      "R3: one still missing, with the reason",
    );
    t.equal(
      out.text(),
      [
        `Re-harvest of ${dir}: 2 runs rechecked (1 with records missing, 1 never harvested); 1 already complete, 1 discarded by --resume skipped.`,
        `  ${R2} ${cellId(A)} trial 2: 2 missing, 2 records found, 0 still missing`,
        `  ${R3} ${cellId(B)} trial 1: never harvested, 1 records found, 1 still missing (not-in-logs: 1 of 2 records found in none of Logs Insights, FilterLogEvents and the log tails)`,
        "Found 3 records; 1 still missing in 1 runs.",
        "",
      ].join("\n"),
      "the summary",
    );
    t.same(
      [...unfinishedCells(entries)].sort(),
      [cellId(B), cellId(C)].sort(),
      "a harvested entry after done does not reopen A for --resume",
    );

    const after = analyseRun(dir);
    t.same(
      after.runs.map((r) => [r.runId, r.records, r.missing]).sort(),
      [
        [R1, 2, 0],
        [R2, 3, 0],
        [R3, 1, 1],
      ],
      "after: the analysis reads the re-harvested records; R3 is kept",
    );
    t.same(
      after.excluded.map((x) => x.runId),
      [R4],
      "only the discarded run is left out",
    );
    t.equal(after.outcomes.get(cellId(A))?.status, "done", "A still done");
    t.equal(after.outcomes.get(cellId(B))?.status, "failed", "B still failed");
    t.equal(after.skipped.recordsDuplicate, 0, "no duplicate record");

    // Again: R3 still misses its record; nothing is appended twice.
    const again = output();
    t.equal(await reharvest(dir, again, { open: backendOf(logs.api) }), 1, "still exit 1");
    t.match(
      again.text(),
      /1 runs rechecked \(1 with records missing, 0 never harvested\); 2 already complete/,
      "only R3 rechecked",
    );
    t.equal(readJsonl(join(dir, RUN_FILES.records)).length, 6, "nothing duplicated");
  },
);

t.test("everything found: exit 0, and a second pass has nothing to do", async (t) => {
  const dir = runDir(t);
  const logs = logsWith({
    [logGroup(A)]: [0, 1, 2].map((i) => line(record(R2, A, i))),
    [logGroup(B)]: [0, 1].map((i) => line(record(R3, B, i))),
  });
  t.equal(await reharvest(dir, output(), { open: backendOf(logs.api) }), 0, "exit 0");
  const again = output();
  const opened: Manifest[] = [];
  t.equal(await reharvest(dir, again, { open: backendOf(logs.api, opened) }), 0, "exit 0 again");
  t.equal(
    again.text(),
    `Nothing to re-harvest in ${dir}: 3 runs complete, 1 discarded by --resume.\n`,
    "nothing to do",
  );
  t.same(opened, [], "no backend opened for nothing");
});

t.test(
  "AccessDenied while re-harvesting: exit 1, the reason in the journal and the summary",
  async (t) => {
    const dir = runDir(t);
    const denied = new AccessDeniedException({
      message: "not authorized",
      $metadata: {},
    }) as unknown as Error;
    const api: LogsApi = {
      async startQuery() {
        throw denied;
      },
      async getQueryResults() {
        throw new Error("unreachable");
      },
      async filterLogEvents() {
        throw denied;
      },
    };
    const out = output();
    t.equal(await reharvest(dir, out, { open: backendOf(api) }), 1, "exit 1");
    const last = readJournal(join(dir, RUN_FILES.journal)).at(-1);
    t.same(
      last?.detail?.reason,
      { code: "access-denied", message: "FilterLogEvents: AccessDeniedException: not authorized" },
      "journaled",
    );
    t.match(
      out.text(),
      /2 still missing \(access-denied: FilterLogEvents: AccessDeniedException: not authorized\)/,
      "printed",
    );
  },
);

const io = fakeRunIo;

t.test("--reharvest with a bad directory is bad input (exit 2) naming the flag", async (t) => {
  const missing = join(tmpdir(), "no-such-run-dir-reharvest");
  const a = io();
  t.equal(await main(["--reharvest", missing], a), EXIT.usage, "missing directory");
  t.equal(
    a.err(),
    `--reharvest="${missing}" is invalid: allowed an existing run directory (results/<run>) with manifest.json and journal.jsonl\n`,
    "message names the flag, the value and what is allowed",
  );
  const empty = mkdtempSync(join(tmpdir(), "reharvest-empty-"));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const b = io();
  t.equal(await main(["--reharvest", empty], b), EXIT.usage, "no manifest");
  t.match(
    b.err(),
    /^--reharvest=".*" is invalid: allowed a run directory with a readable JSON manifest.json/,
    "manifest named",
  );
  const noJournal = runDir(t);
  rmSync(join(noJournal, RUN_FILES.journal));
  const c = io();
  t.equal(await main(["--reharvest", noJournal], c), EXIT.usage, "no journal");
  const d = io();
  t.equal(await main(["--reharvest", noJournal, "--yes"], d), EXIT.usage, "no other flag");
  t.equal(
    d.err(),
    `--yes="(set)" is invalid: allowed no --yes with --reharvest: it takes only the run directory (the backend and region come from ${noJournal}/manifest.json)\n`,
    "other flags refused",
  );
});
