/**
 * End to end on the local backend: the CLI runs small matrices against the real local S3
 * server and Lambda runtime (dist/handler.js, `npm run build`).
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import t from "tap";
import { readJournal, unfinishedCells } from "../../automation/journal";
import { readJsonl } from "../../automation/jsonl";
import { liveEntries } from "../../automation/ledger";
import { EXIT, main, type RunIo } from "../../automation/run";
import type { InvocationRecord, Manifest } from "../../core/run-files";
import { spawnProjectScript } from "../helpers/project-cli";

const root = mkdtempSync(join(tmpdir(), "run-e2e-"));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

function fakeIo(
  preflightApi: RunIo["preflightApi"] = {
    pulumiVersion: () => Promise.reject(new Error("not in tests")),
    callerIdentity: () => Promise.reject(new Error("not in tests")),
    accountSettings: () => Promise.reject(new Error("not in tests")),
  },
): RunIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const stdin = new PassThrough();
  return {
    stdout,
    stderr,
    stdin,
    env: {},
    preflightApi,
    onSignals: () => () => undefined,
    out: () => out,
    err: () => err,
  };
}

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
  const help = fakeIo();
  t.equal(await main(["--help"], help), EXIT.ok, "help exits 0");
  t.match(help.out(), /^Usage: npx ts-node automation\/run.ts/, "usage printed");
  const bad = fakeIo();
  t.equal(await main(["--concurrency", "lots"], bad), EXIT.usage, "bad value exits 2");
  t.equal(
    bad.err(),
    '--concurrency="lots" is invalid: allowed an integer from 1 to 1000\n',
    "exact message",
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
  t.match(io.out(), /54 stacks \(one per cell\)/, "stack count");
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
  const dry = fakeIo(account(1000));
  t.equal(
    await main(["--backend", "aws", "--dry-run", "--seed", "1"], dry),
    EXIT.ok,
    "dry run exits 0",
  );
  t.match(dry.out(), /Estimated AWS cost of this run:/, "estimate printed");
  t.match(
    dry.out(),
    /Preflight ok: Pulumi v3.200.0, account 123456789012, Lambda concurrency 1000 unreserved of 1000, at most 50 reserved at once/,
    "preflight reported",
  );
  t.match(
    dry.out(),
    /Plan: 54 cells \(--matrix full\) on aws, 5 trials, 50 events \/ 20 batch invocations/,
    "the seed's defaults",
  );

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
    t.equal(typeof manifest.local?.cpu_scaling_emulated, "boolean", "local fidelity recorded");
    const invocations = readJsonl(join(out, "invocations.jsonl")) as InvocationRecord[];
    t.equal(invocations.length, 3 * 2 * 25, "every invocation recorded");
    const records = readJsonl(join(out, "records.jsonl")) as { run_id: string }[];
    const harvested = readJournal(join(out, "journal.jsonl")).filter(
      (e) => e.phase === "harvested",
    );
    t.equal(harvested.length, 6, "one harvest per run");
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
    t.match(
      io.out(),
      /\nAnswer: events \(cost\): .* per 1M events, /,
      "the one-line answer at the end",
    );
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

t.test(
  "SIGINT mid-cell destroys the cell and leaves no function, bucket or process behind",
  async (t) => {
    const out = join(root, "sigint");
    const child = spawnCli([
      "--matrix",
      "workload=batch,memory=512,part=8,rc=0",
      "--invocations",
      "6",
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
    await journalHas(out, child, (phase) => phase === "trial-start");
    const pid = child.pid ?? 0;
    // The function's execution environments are the CLI's children while a trial runs.
    let environments: number[] = [];
    for (let i = 0; i < 50 && environments.length === 0; i++) {
      environments = childPids(pid);
      if (environments.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
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
  t.equal(readdirSync(join(out, ".local", "s3", "buckets")).length, 1, "its bucket is on disk");
  const io = fakeIo();
  t.equal(await main(["--cleanup", out], io), EXIT.ok, `cleanup exits 0 (${io.err()})`);
  t.match(
    io.out(),
    "destroying leftover s3-experiment-batch-512mb-p8mb-rc10 (batch-512mb-p8mb-rc10)",
    "says what it destroys",
  );
  t.same(liveEntries(join(out, "ledger.jsonl")), [], "nothing live");
  t.same(readdirSync(join(out, ".local", "s3", "buckets")), [], "the bucket is gone");
  const again = fakeIo();
  t.equal(await main(["--cleanup", out], again), EXIT.ok, "a second cleanup is a no-op");
  t.match(again.out(), "Nothing live in", "and says so");
});
