/**
 * End to end on the local backend: the CLI runs small matrices against the real local S3
 * server and Lambda runtime (dist/handler.js, `npm run build`).
 */
import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { loadRun } from "../../analysis/load-run";
import { computeRunStats } from "../../analysis/runs";
import { arrivalSeed, poissonSchedule } from "../../automation/arrivals";
import { readJournal, unfinishedCells } from "../../automation/journal";
import { readJsonl } from "../../automation/jsonl";
import { Ledger, liveEntries } from "../../automation/ledger";
import { localConcurrency } from "../../automation/local-capacity";
import { memoryDirOf } from "../../automation/local-s3-storage";
import { EXIT, main } from "../../automation/run";
import { billedDurationMs } from "../../core/billing";
import type { Cell } from "../../core/cell";
import { PROJECT_ROOT } from "../../core/paths";
import { DEFAULT_PRICING } from "../../core/pricing";
import type { InvocationRecord, Manifest } from "../../core/run-files";
import { perWorkloadCompact, sameForAll } from "../../core/workloads";
import { spawnProjectScript } from "../helpers/project-cli";
import { fakeRunIo } from "../helpers/run-io";

const root = mkdtempSync(join(tmpdir(), "run-e2e-"));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const fakeIo = fakeRunIo;

/** The CLI as a child process (Node 22 from tap, ts-node's bin), for kill and SIGINT tests. */
function spawnCli(args: string[]): ChildProcess & { output: () => string } {
  return spawnProjectScript("automation/run.ts", args);
}

function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on("exit", (code, signal) => resolve(code ?? String(signal)));
  });
}

/** Resolves once the journal has a line matching `pred`; rejects if the CLI exits first. */
async function journalHas(
  dir: string,
  child: ChildProcess & { output: () => string },
  pred: (phase: string) => boolean,
): Promise<void> {
  for (;;) {
    const entries = readJournal(join(dir, "journal.jsonl"));
    if (entries.some((e) => pred(e.phase))) return;
    if (child.exitCode !== null) {
      throw new Error(`the CLI exited with ${child.exitCode}: ${child.output().slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test("--help exits 0 and bad flags exit 2 with the exact message", async (t) => {
  for (const flag of ["--help", "-h"]) {
    const help = fakeIo();
    t.equal(await main([flag], help), EXIT.ok, `${flag} exits 0`);
    t.match(help.out(), /^Usage: npx ts-node automation\/run.ts/, `${flag}: usage printed`);
  }
  for (const [argv, message] of [
    [["--help=1"], '--help="1" is invalid: allowed no value (a switch)'],
    [["--trials", "-1"], '--trials="-1" is invalid: allowed an integer from 1 to 100'],
    [
      ["--invocations", '{"events":30,"batch":3}'],
      '--invocations="{\\"events\\":30,\\"batch\\":3}" is invalid: allowed N for both workloads or events=N,batch=M (either or both), N from 1 to 10000',
    ],
  ] as const) {
    const io = fakeIo();
    t.equal(await main(argv, io), EXIT.usage, `${argv.join(" ")} exits 2`);
    t.equal(io.err(), `${message}\n`, `${argv.join(" ")}: exact message`);
  }
  const bad = fakeIo();
  t.equal(await main(["--concurrency", "lots"], bad), EXIT.usage, "bad value exits 2");
  t.equal(
    bad.err(),
    '--concurrency="lots" is invalid: allowed N for both workloads or events=N,batch=M (either or both), N from 1 to 1000\n',
    "exact message",
  );
  const full = join(root, "full");
  mkdirSync(full);
  writeFileSync(join(full, "x"), "");
  for (const dryRun of [[], ["--dry-run"]]) {
    for (const [out, why] of [
      [
        "/proc/x",
        "a directory that can be created (its parent cannot hold new directories: /proc/x)",
      ],
      ["/sys/x", "a directory that can be created (operation not permitted: /sys/x)"],
      [
        join("/etc/hostname", "run"),
        "a directory that can be created (a file is in the way: /etc/hostname)",
      ],
      [full, "a new or empty directory (continue an existing run with --resume DIR)"],
    ] as const) {
      const io = fakeIo();
      const what = `--out ${out} ${dryRun.join(" ")}`;
      t.equal(
        await main(
          ["--out", out, "--matrix", "workload=events,memory=512,batch=1,rc=0", ...dryRun],
          io,
        ),
        EXIT.usage,
        `${what} exits 2`,
      );
      t.equal(
        io.err(),
        `--out=${JSON.stringify(out)} is invalid: allowed ${why}\n`,
        `${what}: exact message, no stack, no spin`,
      );
      t.equal(io.out(), "", `${what}: said before the plan, which never prints`);
    }
  }
  // The check creates nothing: a dry run into a new nested --out leaves no directory behind.
  const fresh = join(root, "fresh", "a", "b");
  const dry = fakeIo();
  t.equal(
    await main(
      ["--out", fresh, "--matrix", "workload=events,memory=512,batch=1,rc=0", "--dry-run"],
      dry,
    ),
    EXIT.ok,
    `a dry run into a new --out exits 0 (${dry.err()})`,
  );
  t.match(dry.out(), /^Plan: 1 cells/, "the plan printed");
  t.notOk(existsSync(join(root, "fresh")), "nothing of the --out path was created");
  // A deeper part that cannot be made (a name over 255 bytes): the parts made before it go.
  const tooLong = join(root, "made", "x".repeat(300));
  const long = fakeIo();
  t.equal(
    await main(["--out", tooLong, "--matrix", "workload=events,memory=512,batch=1,rc=0"], long),
    EXIT.usage,
    "an --out with a name too long exits 2",
  );
  t.match(long.err(), /^--out=".*" is invalid: allowed a directory that can be created/);
  t.notOk(existsSync(join(root, "made")), "the part of the path made before the failure is gone");
});

t.test("--help and bad flags load neither the AWS SDK, Pulumi nor the local backend", async (t) => {
  const script = `
    const { main } = require("./automation/run.ts");
    const quiet = { write: () => true };
    (async () => {
      const codes = [await main(["--help"], { stdout: quiet, stderr: quiet }), await main(["--bogus"], { stdout: quiet, stderr: quiet })];
      const heavy = Object.keys(require.cache).filter((f) => /@aws-sdk|@pulumi|[/]local[/]/.test(f));
      process.stdout.write(JSON.stringify({ codes, heavy }));
    })();`;
  const child = spawnSync(
    "/usr/bin/env",
    ["-u", "NODE_OPTIONS", process.execPath, "-r", "ts-node/register", "-e", script],
    { cwd: PROJECT_ROOT, encoding: "utf8" },
  );
  t.equal(child.stderr, "", "no errors");
  t.same(JSON.parse(child.stdout), { codes: [0, 2], heavy: [] }, "nothing heavy loaded");
});

t.test("a bad combination of load flags exits 2 naming both", async (t) => {
  const io = fakeIo();
  t.equal(
    await main(["--arrival-rate", "5", "--duration", "2", "--invocations", "10"], io),
    EXIT.usage,
    "exit 2",
  );
  t.equal(
    io.err(),
    '--invocations="10" is invalid: allowed no --invocations with --arrival-rate: the open loop sends rate x duration invocations per trial (--invocations and --concurrency belong to the closed loop)\n',
    "exact message",
  );
});

t.test("--dry-run with the open loop plans rate × duration invocations", async (t) => {
  const io = fakeIo();
  t.equal(
    await main(
      [
        "--dry-run",
        "--matrix",
        "events",
        "--arrival-rate",
        "20",
        "--duration",
        "10",
        "--precision",
        "20",
      ],
      io,
    ),
    EXIT.ok,
    `exit 0 (${io.err()})`,
  );
  t.match(
    io.out(),
    "3 trials, open loop: Poisson arrivals at 20/s for 10 s per trial (≈ 200 invocations, sent at their times), warm-up 20 events / 20 batch invocations per cell",
    "the plan line",
  );
  t.match(
    io.out(),
    "±20 % needs 140 warm invocations. This plan: 600 events invocations per cell → ±10 %",
    "precision",
  );
  t.match(
    io.out(),
    "27 stacks (one per cell), 16740 invocations (540 of them warm-up)",
    "estimate",
  );
});

t.test("--dry-run prints the plan and the AWS estimate and creates nothing", async (t) => {
  const io = fakeIo();
  const out = join(root, "dry");
  t.equal(await main(["--dry-run", "--out", out, "--seed", "7"], io), EXIT.ok, "exit 0");
  t.match(
    io.out(),
    /Plan: 54 cells \(--matrix full\) on local, 3 trials, 30 events \/ 3 batch invocations/,
    "plan with the local defaults",
  );
  t.match(
    io.out(),
    /What this run would cost on AWS \(the local backend bills nothing\):/,
    "estimate heading",
  );
  // Events get the concurrency this host's cores hold (1 on 2 cores), one warm-up per slot.
  const k = localConcurrency().events;
  t.match(
    io.out(),
    `concurrency ${perWorkloadCompact({ events: k, batch: 20 })}, warm-up ${k} events / 3 batch invocations per cell, parallel 1`,
    "concurrency and warm-up",
  );
  t.match(
    io.out(),
    "Precision of a cell's warm p95 (95 % confidence, log-normal σ 0.57, --precision/--sigma): ≥ 59 invocations just to bound it; ±10 % needs 558 warm invocations. This plan: 90 events invocations per cell → ±25 %, 9 batch invocations per cell → ±79 %, too few to bound a p95 (< 59) (before throttles and failures)\n",
    "what a chosen precision needs, and what the plan gives",
  );
  t.match(
    io.out(),
    `54 stacks (one per cell), ${27 * (90 + k) + 27 * (9 + 3)} invocations (${27 * k + 27 * 3} of them warm-up)`,
    "stack count",
  );
  t.match(io.out(), /Dry run: nothing was created\./, "dry run said so");
  t.notOk(existsSync(out), "no run directory");
});

t.test("--backend aws: preflight, estimate, and no deploy without confirmation", async (t) => {
  const account = (limit: number) => ({
    pulumiVersion: async () => "v3.200.0",
    callerIdentity: async () => ({
      account: "123456789012",
      arn: "arn:aws:iam::123456789012:user/x",
    }),
    accountSettings: async () => ({
      concurrentExecutions: limit,
      unreservedConcurrentExecutions: limit,
    }),
  });
  // The default fakeIo has no Pulumi CLI and no credentials: every preflight call fails.
  const dry = fakeIo();
  t.equal(
    await main(["--backend", "aws", "--dry-run", "--seed", "1"], dry),
    EXIT.ok,
    "dry run exits 0 without the Pulumi CLI or credentials",
  );
  t.match(dry.out(), /Estimated AWS cost of this run:/, "estimate printed");
  t.match(
    dry.out(),
    /Plan: 54 cells \(--matrix full\) on aws, 5 trials, 50 events \/ 20 batch invocations/,
    "the seed's defaults",
  );
  t.match(
    dry.out(),
    /Dry run: nothing was created.\nNot checked by a dry run; the real run checks first: the Pulumi CLI \(pulumi version\), AWS credentials \(STS GetCallerIdentity\) and the account's Lambda concurrency in the region \(GetAccountSettings: at least 100 left unreserved beside the reserved cells, and room in the unreserved pool for --parallel x --concurrency\).\n$/,
    "says what the real run checks",
  );
  t.equal(dry.err(), "", "nothing on stderr");

  const out = join(root, "aws-unconfirmed");
  const unconfirmed = fakeIo(account(1000));
  t.equal(
    await main(["--backend", "aws", "--out", out], unconfirmed),
    EXIT.failed,
    "no TTY, no --yes: exit 1",
  );
  t.equal(
    unconfirmed.err(),
    "Refusing to deploy to AWS without confirmation: stdin is not a terminal. Pass --yes to proceed.\nNot confirmed: nothing was created.\n",
    "refusal explained",
  );
  t.notOk(existsSync(out), "nothing created");

  const small = fakeIo(account(10));
  t.equal(
    await main(["--backend", "aws", "--yes", "--out", out], small),
    EXIT.failed,
    "limit 10: exit 1",
  );
  t.match(
    small.err(),
    /^Preflight failed: the account's Lambda concurrency limit in us-east-1 is 10/,
    "clear message",
  );
  t.notOk(existsSync(out), "nothing created");

  // The open loop puts rate × modelled duration in flight, whatever --concurrency says.
  const open = fakeIo(account(70));
  // (--yes, not --dry-run: a dry run checks nothing, so it needs no account.)
  const openOut = join(root, "aws-open-preflight");
  const openArgs = [
    "--backend",
    "aws",
    "--yes",
    "--out",
    openOut,
    "--matrix",
    "workload=batch,memory=512,part=8,rc=0",
  ];
  t.equal(
    await main([...openArgs, "--arrival-rate", "50", "--duration", "60", "--seed", "1"], open),
    EXIT.failed,
    "open loop at 50/s on a 70 pool: exit 1",
  );
  t.match(
    open.err(),
    /^Preflight failed: 1 cell\(s\) without reserved concurrency deployed at once \(--parallel 1\) are offered 73 concurrent executions \(open loop/,
    "preflight checked the offered 73 (⌈50/s × 1.444 s⌉)",
  );
  t.notOk(existsSync(openOut), "nothing created");
});

t.test(
  "a small matrix runs: complete run dir, every reached invocation harvested, throttles where rc < C",
  async (t) => {
    const io = fakeIo();
    const out = join(root, "small");
    const code = await main(
      [
        "--matrix",
        "workload=events,memory=512,batch=1",
        "--invocations",
        "25",
        "--trials",
        "2",
        "--concurrency",
        "20",
        "--local-s3-storage",
        "disk",
        "--out",
        out,
        "--seed",
        "1",
      ],
      io,
    );
    t.equal(code, EXIT.ok, `exit 0 (${io.err()})`);
    for (const f of [
      "manifest.json",
      "journal.jsonl",
      "invocations.jsonl",
      "records.jsonl",
      "ledger.jsonl",
      "logs",
    ]) {
      t.ok(existsSync(join(out, f)), `${f} exists`);
    }
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
    t.equal(manifest.order_seed, 1, "seed recorded");
    t.same(
      [...manifest.cell_order].sort(),
      ["events-512mb-b1-rc0", "events-512mb-b1-rc10", "events-512mb-b1-rc50"],
      "three cells",
    );
    t.same(manifest.concurrency, { events: 20, batch: 20 }, "--concurrency 20 for both");
    t.notOk(
      manifest.local?.notes.some((n) => n.startsWith("local default --concurrency")),
      "a concurrency the user set is no local default",
    );
    t.equal(typeof manifest.local?.cpu_scaling_emulated, "boolean", "local fidelity recorded");
    t.same(
      manifest.local?.network,
      { mbps: 625, s3_latency_ms: 20 },
      "the network emulation recorded",
    );
    t.ok(
      manifest.local?.notes.some((n) =>
        n.startsWith("network to S3 emulated per environment: a bandwidth ceiling of 625 Mbit/s"),
      ),
      "and described in the notes",
    );
    t.ok(
      manifest.local?.notes.some((n) =>
        / cells ask for more CPU than this host's \d+ cores|fit this host's/.test(n),
      ),
      "the cells this host cannot measure faithfully are named (or all fit)",
    );
    const measured = (readJsonl(join(out, "invocations.jsonl")) as InvocationRecord[]).filter(
      (i) => i.status_code === 200 && !i.throttled,
    );
    t.ok(
      measured.length > 0 &&
        measured.every(
          (i) => typeof i.local_cpu_ms === "number" && typeof i.host_saturated === "boolean",
        ),
      "every invocation that ran records its CPU and the host's saturation",
    );
    t.same(manifest.load, { model: "closed" }, "closed loop recorded");
    t.same(
      manifest.warmup_invocations,
      { events: 20, batch: 20 },
      "warm-up: one invocation per slot (concurrency 20)",
    );
    const invocations = readJsonl(join(out, "invocations.jsonl")) as InvocationRecord[];
    t.equal(invocations.length, 3 * (20 + 2 * 25), "every invocation recorded, warm-ups too");
    for (const cell of manifest.cell_order) {
      const mine = invocations.filter((i) => i.cell_id === cell);
      t.same(
        [...new Set(mine.map((i) => `${i.trial}:${i.warmup ?? false}`))],
        ["0:true", "1:false", "2:false"],
        `${cell}: the warm-up (trial 0) first, then trials 1 and 2`,
      );
      t.equal(mine.filter((i) => i.warmup === true).length, 20, `${cell}: 20 warm-up invocations`);
    }
    const tag = manifest.run_tag ?? "";
    t.match(tag, /^[a-z0-9]{6}$/, "the run's tag is recorded");
    t.same(
      manifest.cells.map((c) => c.function_name).sort(),
      ["rc0", "rc10", "rc50"].map((rc) => `s3-experiment-events-512mb-b1-${rc}-${tag}`),
      "every function name carries it",
    );
    t.same(
      [...new Set(invocations.map((i) => i.function_name))].sort(),
      manifest.cells.map((c) => c.function_name).sort(),
      "the invoked functions are the manifest's",
    );
    const records = readJsonl(join(out, "records.jsonl")) as { run_id: string }[];
    const harvested = readJournal(join(out, "journal.jsonl")).filter(
      (e) => e.phase === "harvested",
    );
    t.equal(harvested.length, 9, "one harvest per run, the warm-up's included");
    for (const h of harvested) {
      const runId = h.run_id ?? "";
      const reached = invocations.filter(
        (i) => i.run_id === runId && !i.throttled && i.status_code === 200,
      ).length;
      const found = records.filter((r) => r.run_id === runId).length;
      t.equal(
        found,
        reached,
        `${h.cell_id} ${runId}: records = invocations that reached the function`,
      );
      t.equal(h.detail?.missing, 0, `${runId}: nothing missing`);
      t.equal(
        h.detail?.source,
        "insights",
        `${runId}: harvested through the local CloudWatch Logs API's Insights, as on AWS`,
      );
    }
    const throttles = (cell: string) =>
      invocations.filter((i) => i.cell_id === cell && i.throttled).length;
    t.ok(throttles("events-512mb-b1-rc10") > 0, "rc=10 under 20 offered throttles");
    t.equal(throttles("events-512mb-b1-rc50"), 0, "rc=50 does not");
    t.equal(throttles("events-512mb-b1-rc0"), 0, "unreserved (account pool 100) does not");
    t.equal(
      invocations.find((i) => i.throttled)?.throttle_reason,
      "ReservedFunctionConcurrentInvocationLimitExceeded",
      "the throttle's Reason is kept",
    );
    t.same(liveEntries(join(out, "ledger.jsonl")), [], "nothing live");
    t.same(readdirSync(join(out, ".local", "s3", "buckets")), [], "every bucket deleted");

    // Billing from the JSON platform.report records the cells log (IngestCell's format).
    const reached = invocations.filter((i) => !i.throttled && i.status_code === 200);
    t.equal(
      reached.filter((i) => i.report !== undefined).length,
      reached.length,
      "every invocation that reached the function carries REPORT data from its JSON tail",
    );
    const reportSum = reached.reduce((s, i) => s + (i.report?.billed_duration_ms ?? 0), 0);
    const { runs } = computeRunStats(loadRun(out), DEFAULT_PRICING);
    t.equal(
      runs.reduce((s, r) => s + r.billedMs, 0),
      reportSum,
      "billed ms = Σ REPORT Billed Duration (INIT not added again)",
    );
    t.equal(
      runs.reduce((s, r) => s + r.billedFromLatency, 0),
      0,
      "no record billed from latency",
    );
    const cold = reached.filter((i) => i.report?.init_duration_ms !== undefined);
    t.ok(cold.length > 0, "cold starts report their INIT duration");
    for (const i of cold) {
      const rep = i.report;
      if (rep === undefined) continue;
      t.equal(
        rep.billed_duration_ms,
        billedDurationMs(rep.duration_ms, rep.init_duration_ms),
        `${i.request_id}: a cold start's Billed Duration includes INIT once`,
      );
    }
    t.match(
      io.out(),
      /\nAnswer: events \(cost\): .* per 1M events, /,
      "the one-line answer at the end",
    );
  },
);

t.test(
  "the open loop on the local backend: seeded Poisson send times, manifest load, warm-up first",
  async (t) => {
    const io = fakeIo();
    const out = join(root, "open");
    const code = await main(
      [
        "--matrix",
        "workload=events,memory=512,batch=1,rc=0",
        "--arrival-rate",
        "20",
        "--duration",
        "1",
        "--trials",
        "1",
        "--warmup",
        "2",
        "--seed",
        "5",
        "--out",
        out,
      ],
      io,
    );
    t.equal(code, EXIT.ok, `exit 0 (${io.err()})`);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
    t.same(manifest.load, { model: "open", arrival_rate_per_s: 20, duration_s: 1 }, "load");
    t.same(manifest.warmup_invocations, { events: 2, batch: 2 }, "warm-up count");
    const invocations = readJsonl(join(out, "invocations.jsonl")) as InvocationRecord[];
    const offsets = poissonSchedule(20, 1, arrivalSeed(5, 1));
    const trial = invocations.filter((i) => i.trial === 1).sort((a, b) => a.seq - b.seq);
    t.equal(trial.length, offsets.length, `${offsets.length} arrivals for seed 5, trial 1`);
    const first = trial[0]?.scheduled_ms ?? 0;
    for (const r of trial) {
      const planned = (offsets[r.seq] ?? 0) - (offsets[0] ?? 0);
      t.ok(
        Math.abs((r.scheduled_ms ?? 0) - first - planned) <= 1,
        `seq ${r.seq}: at ${(r.scheduled_ms ?? 0) - first} ms, planned ${planned.toFixed(1)}`,
      );
      t.ok(r.client_start_ms >= (r.scheduled_ms ?? 0), `seq ${r.seq}: not sent early`);
    }
    t.equal(invocations.filter((i) => i.warmup === true && i.trial === 0).length, 2, "2 warm-ups");
    const done = readJournal(join(out, "journal.jsonl")).filter((e) => e.phase === "trial-done");
    t.match(
      done.map((e) => e.detail),
      [
        { warmup: true, load: "closed", offered_concurrency: 2, budget: 2, sent: 2 },
        { load: "open", scheduled: offsets.length, sent: offsets.length, dropped: 0 },
      ],
      "journaled loads",
    );
  },
);

t.test(
  "resume mid-warm-up discards the warm-up's run and redoes the cell with a new one",
  async (t) => {
    const out = join(root, "resume-warmup");
    const child = spawnCli([
      "--matrix",
      "workload=batch,memory=512,part=8,rc=0",
      "--invocations",
      "2",
      "--trials",
      "1",
      "--warmup",
      "3",
      "--object-mb",
      "16",
      "--out",
      out,
    ]);
    t.teardown(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await journalHas(out, child, (phase) => phase === "trial-start");
    child.kill("SIGKILL");
    await exited(child);
    const before = readJournal(join(out, "journal.jsonl"));
    const warmStart = before.find((e) => e.phase === "trial-start");
    t.equal(warmStart?.trial, 0, "the first trial started is the warm-up");
    t.notOk(
      before.some((e) => e.phase === "trial-done"),
      "killed before the warm-up finished",
    );
    const io = fakeIo();
    t.equal(await main(["--resume", out], io), EXIT.ok, `resume exits 0 (${io.err()})`);
    const after = readJournal(join(out, "journal.jsonl")).slice(before.length);
    t.match(
      after[0],
      {
        phase: "failed",
        detail: {
          error: "unfinished attempt discarded by --resume",
          discarded_run_ids: [warmStart?.run_id],
        },
      },
      "the warm-up's run is discarded like a trial's",
    );
    const trials = after.filter((e) => e.phase === "trial-done").map((e) => e.trial);
    t.same(trials, [0, 1], "the redone cell warms up again, then runs its trial");
    const redoneWarmup = after.find((e) => e.phase === "trial-start" && e.trial === 0)?.run_id;
    t.not(redoneWarmup, warmStart?.run_id, "with a new run id");
    t.same(
      after.filter((e) => e.phase === "harvested").map((e) => e.trial),
      [0, 1],
      "both harvested",
    );
    t.equal(after.at(-1)?.phase, "done", "and the cell is done");
  },
);

t.test(
  "--reharvest on a local run collects lost records again from the stored logs, through the Logs API",
  async (t) => {
    const out = join(root, "reharvest");
    const io = fakeIo();
    const code = await main(
      [
        "--matrix",
        "workload=events,memory=512,batch=1,rc=0",
        "--invocations",
        "6",
        "--trials",
        "1",
        "--warmup",
        "0",
        "--out",
        out,
        "--seed",
        "2",
      ],
      io,
    );
    t.equal(code, EXIT.ok, `run exits 0 (${io.err()})`);
    const recordsFile = join(out, "records.jsonl");
    const lines = readFileSync(recordsFile, "utf8").trimEnd().split("\n");
    t.equal(lines.length, 6, "six records harvested");
    const journal = readJournal(join(out, "journal.jsonl"));
    const harvested = journal.find((e) => e.phase === "harvested");
    const runId = harvested?.run_id ?? "";
    // Lose two records as a harvest cut short would, and journal it so.
    writeFileSync(recordsFile, `${lines.slice(2).join("\n")}\n`);
    appendFileSync(
      join(out, "journal.jsonl"),
      `${JSON.stringify({ ...harvested, ts: new Date().toISOString(), detail: { ...harvested?.detail, found: 4, missing: 2 } })}\n`,
    );
    const again = fakeIo();
    t.equal(await main(["--reharvest", out], again), EXIT.ok, `reharvest exits 0 (${again.err()})`);
    const after = readFileSync(recordsFile, "utf8").trimEnd().split("\n");
    t.equal(after.length, 6, "the two lost records are back, none duplicated");
    t.same(
      after.map((l) => JSON.parse(l).request_id).sort(),
      lines.map((l) => JSON.parse(l).request_id).sort(),
      "exactly the same records as the first harvest",
    );
    const last = readJournal(join(out, "journal.jsonl"))
      .filter((e) => e.phase === "harvested" && e.run_id === runId)
      .at(-1);
    t.equal(last?.detail?.missing, 0, "the latest harvested entry has nothing missing");
  },
);

t.test("resume after a killed run finishes the remaining cells only", async (t) => {
  const out = join(root, "resume");
  const args = [
    "--matrix",
    "memory=512,batch=1,part=8,rc=0|10",
    "--invocations",
    "4",
    "--trials",
    "1",
    "--object-mb",
    "8",
    "--parallel",
    "1",
    "--seed",
    "3",
    "--local-s3-storage",
    "disk",
    "--out",
    out,
  ];
  const child = spawnCli(args);
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  await journalHas(out, child, (phase) => phase === "done");
  child.kill("SIGKILL");
  await exited(child);
  const before = readJournal(join(out, "journal.jsonl"));
  const doneBefore = before.filter((e) => e.phase === "done").map((e) => e.cell_id);
  t.equal(doneBefore.length >= 1, true, "at least one cell was done before the kill");

  const io = fakeIo();
  t.equal(await main(["--resume", out], io), EXIT.ok, `resume exits 0 (${io.err()})`);
  const after = readJournal(join(out, "journal.jsonl")).slice(before.length);
  for (const id of unfinishedCells(before)) {
    t.match(
      after.find((e) => e.cell_id === id && e.phase === "failed")?.detail,
      { error: "unfinished attempt discarded by --resume" },
      `${id}: the interrupted attempt is journaled as discarded`,
    );
  }
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
  const remaining = manifest.cell_order.filter((c) => !doneBefore.includes(c));
  t.match(
    io.out(),
    `Resuming ${out}: ${doneBefore.length} cells done, ${remaining.length} to run`,
    "resume says what it does",
  );
  t.same(
    after.filter((e) => e.phase === "deploying").map((e) => e.cell_id),
    remaining,
    "only the remaining cells are deployed, in the recorded order",
  );
  t.same(
    after.filter((e) => e.phase === "done").map((e) => e.cell_id),
    remaining,
    "and they finish",
  );
  t.same(liveEntries(join(out, "ledger.jsonl")), [], "leftovers destroyed, nothing live");
  t.same(readdirSync(join(out, ".local", "s3", "buckets")), [], "no bucket left on disk");
});

for (const signal of ["SIGINT", "SIGHUP"] as const) {
  t.test(
    `${signal} mid-cell destroys the cell and leaves no function, bucket or process behind`,
    async (t) => {
      const out = join(root, signal.toLowerCase());
      const child = spawnCli([
        "--matrix",
        "workload=batch,memory=512,part=8,rc=0",
        "--invocations",
        "6",
        "--trials",
        "3",
        "--object-mb",
        "16",
        "--local-s3-storage",
        "disk",
        "--out",
        out,
      ]);
      t.teardown(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      await journalHas(out, child, (phase) => phase === "trial-start");
      const pid = child.pid ?? 0;
      // The function's execution environments are the CLI's children while a trial runs.
      let environments: number[] = [];
      for (let i = 0; i < 50 && environments.length === 0; i++) {
        environments = childPids(pid);
        if (environments.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(signal);
      const code = await exited(child);
      t.equal(code, EXIT.interrupted, `exit 130 (${child.output().slice(-400)})`);
      const phases = readJournal(join(out, "journal.jsonl")).map((e) => e.phase);
      t.ok(phases.includes("destroyed"), "the cell was destroyed");
      t.equal(phases.at(-1), "failed", "and journaled as failed (to be redone by --resume)");
      t.same(liveEntries(join(out, "ledger.jsonl")), [], "nothing live in the ledger");
      t.same(readdirSync(join(out, ".local", "s3", "buckets")), [], "no bucket left");
      t.ok(environments.length > 0, "execution environments were running");
      t.same(environments.filter(alive), [], "no environment process left");
    },
  );
}

t.test("a run directory from before run tags resumes under its untagged names", async (t) => {
  const out = join(root, "untagged");
  mkdirSync(out);
  const cell = {
    workload: "events",
    memoryMb: 512,
    batchEvents: 1,
    reservedConcurrency: 50,
  } as const;
  const old: Manifest = {
    schema_version: 1,
    tool_version: "0.1.0",
    created_at: "2026-11-23T00:00:00.000Z",
    backend: "local",
    region: "us-east-1",
    architecture: "arm64",
    matrix: "workload=events,memory=512,batch=1,rc=50",
    cells: [
      {
        cell_id: "events-512mb-b1-rc50",
        cell,
        function_name: "s3-experiment-events-512mb-b1-rc50",
      },
    ],
    order_seed: 1,
    cell_order: ["events-512mb-b1-rc50"],
    invocations: { events: 3, batch: 1 },
    trials: 1,
    concurrency: sameForAll(2),
    parallel: 1,
    object_mb: 100,
    event_bytes: 1024,
    name_prefix: "",
    versions: {},
  };
  writeFileSync(join(out, "manifest.json"), JSON.stringify(old));
  const io = fakeIo();
  t.equal(await main(["--resume", out], io), EXIT.ok, `resume exits 0 (${io.err()})`);
  const invocations = readJsonl(join(out, "invocations.jsonl")) as InvocationRecord[];
  t.same(
    invocations.map((i) => [i.function_name, i.status_code]),
    Array(3).fill(["s3-experiment-events-512mb-b1-rc50", 200]),
    "the old name, no tag added",
  );
});

t.test("--cleanup destroys what a killed run left live", async (t) => {
  const out = join(root, "cleanup");
  const child = spawnCli([
    "--matrix",
    "workload=batch,memory=512,part=8,rc=10",
    "--invocations",
    "4",
    "--trials",
    "3",
    "--object-mb",
    "16",
    "--out",
    out,
  ]);
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  await journalHas(out, child, (phase) => phase === "deployed");
  child.kill("SIGKILL");
  await exited(child);
  t.equal(
    liveEntries(join(out, "ledger.jsonl")).length,
    1,
    "the killed cell is live in the ledger",
  );
  // By default the S3 data is in memory (a tmpfs), where a killed run leaves it for --cleanup.
  const memory = memoryDirOf(out);
  t.equal(readdirSync(join(memory, "buckets")).length, 1, "its bucket is in memory");
  t.notOk(existsSync(join(out, ".local", "s3")), "nothing of S3 on disk");
  const io = fakeIo();
  t.equal(await main(["--cleanup", out], io), EXIT.ok, `cleanup exits 0 (${io.err()})`);
  const { run_tag: tag } = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
  t.match(
    io.out(),
    `destroying leftover s3-experiment-batch-512mb-p8mb-rc10-${tag} (batch-512mb-p8mb-rc10)`,
    "says what it destroys, by the run's tagged name",
  );
  t.same(liveEntries(join(out, "ledger.jsonl")), [], "nothing live");
  t.notOk(existsSync(memory), "the bucket is gone, and the run's S3 data with it");
  const again = fakeIo();
  t.equal(await main(["--cleanup", out], again), EXIT.ok, "a second cleanup is a no-op");
  t.match(again.out(), "Nothing live in", "and says so");
});

t.test(
  "a signal during --cleanup or --resume's leftover destroy is reported and the destroy finishes",
  async (t) => {
    const out = join(root, "cleanup-signal");
    const cell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 };
    const first = fakeIo();
    const flags = ["--matrix", "workload=events,memory=512,batch=1,rc=0", "--invocations", "2"];
    t.equal(
      await main([...flags, "--trials", "1", "--out", out], first),
      EXIT.ok,
      `the run (${first.err()})`,
    );
    for (const mode of ["--cleanup", "--resume"]) {
      // What a killed attempt leaves: the cell live in the ledger.
      const ledger = new Ledger(join(out, "ledger.jsonl"));
      ledger.live("local", "events-512mb-b1-rc0", cell as Cell, "leftover-fn");
      ledger.close();
      const registered: string[] = [];
      const handlers: ((s: NodeJS.Signals) => void)[] = [];
      const io = {
        ...fakeIo(),
        onSignals(handler: (s: NodeJS.Signals) => void) {
          registered.push(
            `on during: ${io.out().includes("destroying leftover") ? "destroy" : "before"}`,
          );
          handlers.push(handler);
          return () => {
            registered.push("off");
          };
        },
      };
      // The signal arrives as the leftover is being destroyed.
      io.stdout.on("data", (c: Buffer) => {
        if (c.toString().startsWith("destroying leftover")) for (const h of handlers) h("SIGTERM");
      });
      const code = await main([mode, out, "--yes"].slice(0, mode === "--resume" ? 3 : 2), io);
      t.equal(code, EXIT.ok, `${mode} exits 0 (${io.err()})`);
      t.same(
        registered.slice(0, 2),
        ["on during: before", "off"],
        `${mode}: handlers around the destroy`,
      );
      t.match(
        io.err(),
        `SIGTERM: still destroying leftover cells, letting them finish; if you force-kill now, run --cleanup ${out} again\n`,
        `${mode}: says it is still destroying and how to clean up`,
      );
      t.same(liveEntries(join(out, "ledger.jsonl")), [], `${mode}: the destroy finished`);
    }
  },
);
