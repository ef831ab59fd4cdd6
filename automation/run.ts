/**
 * `npx ts-node automation/run.ts`: the experiment. Parses flags, prints the plan and its AWS
 * cost estimate, runs preflight and asks for confirmation on AWS, then runs the loop over the
 * cells in a seeded random order and leaves a run directory that `npm run analyze` reads.
 * Also `--resume DIR`, `--cleanup DIR` and `--reharvest DIR`. `main(argv)` returns the exit code.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { type Cell, type CellSettings, cellId, type Workload } from "../core/cell";
import { LAMBDA } from "../core/constants";
import type { Deployer } from "../core/deployer";
import { makeDirectory } from "../core/dirs";
import { InvalidInputError, isInvalidInputError } from "../core/errors";
import { shuffled } from "../core/matrix";
import { functionName, newRunTag } from "../core/names";
import { PROJECT_ROOT } from "../core/paths";
import {
  invocationsForPrecision,
  invocationsToBoundQuantile,
  relativeHalfWidth,
} from "../core/precision";
import { type Backend, type Manifest, RUN_FILES, readManifest } from "../core/run-files";
import { sameForAll, WORKLOADS } from "../core/workloads";
import type { NetworkEmulation } from "../local/lambda/network";
import {
  LOCAL_DEFAULT_REASONS,
  localDefaultFlag,
  parseArgs,
  type RunOptions,
  USAGE,
} from "./cli-args";
import { estimateRun, formatEstimate } from "./estimate";
import type { Harvester } from "./harvest";
import type { AwsHarvesterOptions } from "./harvest-aws";
import { doneCells, Journal, missingRecords, readJournal, unfinishedCells } from "./journal";
import { JsonlAppender } from "./jsonl";
import { Ledger, liveEntries } from "./ledger";
import { buildManifest, type LocalFidelity, writeManifest } from "./manifest";
import {
  awsPreflightApi,
  offeredLoad,
  type PreflightApi,
  PreflightError,
  preflight,
} from "./preflight";
import { Progress } from "./progress";
// The local backend, the AWS SDK clients and Pulumi load only when a run needs them (dynamic
// imports below), so that --help and bad flags answer at once.

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The process facilities `main` uses, injectable for tests. */
export interface RunIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Preflight calls for `--backend aws`. */
  readonly preflightApi: PreflightApi;
  /** Registers SIGINT/SIGTERM/SIGHUP handlers; returns their removal. */
  onSignals(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** The signals that interrupt a run. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * After a hangup the terminal is gone and writes to it fail (EIO, EPIPE): they must not crash
 * the run while it destroys its cells.
 */
function ignoreClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EIO" && e.code !== "EPIPE") throw e;
    });
  }
}

const processIo: RunIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  preflightApi: awsPreflightApi,
  onSignals(handler) {
    // SIGHUP (terminal closed, SSH dropped) is an interruption like Ctrl-C: live cells are
    // destroyed, not left running with their multipart uploads open.
    for (const s of STOP_SIGNALS) process.on(s, handler);
    return () => {
      for (const s of STOP_SIGNALS) process.off(s, handler);
    };
  },
};

/** Local-backend fidelity notes recorded in the manifest. */
function localNotes(
  cpuScaling: boolean,
  accountConcurrency: number,
  networkNote: string,
): string[] {
  return [
    "S3 is the embedded local server on this machine's disk",
    networkNote,
    cpuScaling
      ? "CPU share proportional to memory is emulated with cgroups"
      : "CPU share proportional to memory is NOT emulated (no writable cgroups): memory effects on speed are not reproduced",
    `account concurrency (unreserved pool) is ${accountConcurrency}; reserved concurrency is enforced with 429 TooManyRequestsException`,
    "cold starts are Node.js process starts on this machine, not Firecracker microVMs",
    "the cost estimate is what the same run would cost on AWS; nothing is billed locally",
  ];
}

function timestampName(backend: Backend, now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${backend}`;
}

/** A short, stable per-run suffix of local bucket names (so resume finds the same buckets). */
function bucketSuffix(runName: string): string {
  return createHash("sha256").update(runName).digest("hex").slice(0, 6);
}

function cellsOfManifest(manifest: Manifest): Cell[] {
  const byId = new Map(manifest.cells.map((c) => [c.cell_id, c.cell]));
  return manifest.cell_order.flatMap((id) => {
    const cell = byId.get(id);
    return cell === undefined ? [] : [cell];
  });
}

function settingsOfManifest(m: Manifest): CellSettings {
  return {
    eventBytes: m.event_bytes,
    objectMb: m.object_mb,
    architecture: m.architecture,
    namePrefix: m.name_prefix,
    ...(m.run_tag === undefined ? {} : { runTag: m.run_tag }),
    region: m.region,
  };
}

/**
 * Harvest timings for the local CloudWatch Logs server: its store is written synchronously, so
 * lag is short; a few seconds still cover lines written just after the last response.
 */
const LOCAL_HARVEST_TIMINGS: AwsHarvesterOptions = {
  pollMs: 50,
  retryMs: 250,
  queryTimeoutMs: 10_000,
  lagDeadlineMs: 3_000,
  slackMs: 5_000,
};

/** A backend's deployer, harvester and teardown, for one run directory. */
interface BackendSession {
  readonly deployer: Deployer;
  harvesterFor(region: string): Harvester;
  resourceName(cell: Cell, attempt: number): string;
  readonly local?: LocalFidelity;
  stop(): Promise<void>;
}

/** A manifest's network emulation back as the runtime's option (none recorded: it had none). */
function networkOfManifest(m: Manifest): NetworkEmulation | "off" {
  const n = m.local?.network;
  if (n === undefined) return "off";
  return n.mbps === null
    ? { s3LatencyMs: n.s3_latency_ms }
    : { mbps: n.mbps, s3LatencyMs: n.s3_latency_ms };
}

async function openBackend(
  backend: Backend,
  runDir: string,
  settings: CellSettings,
  io: RunIo,
  network?: NetworkEmulation | "off",
): Promise<BackendSession> {
  const runName = basename(runDir);
  const { AwsHarvester, cloudWatchLogsApi, harvestLogsClient } = await import("./harvest-aws");
  if (backend === "local") {
    const { startLocalBackend } = await import("../local/backend");
    const { localLogsClient } = await import("../local/logs");
    const { LocalDeployer } = await import("../local/deployer");
    const { LOGS_CLIENT_CONFIG } = await import("./logs-retry");
    const { describeNetwork } = await import("../local/lambda/network");
    const local = await startLocalBackend({
      dataDir: join(runDir, ".local"),
      ...(network === undefined ? {} : { network }),
    });
    const emulated = local.runtime.network;
    const deployer = new LocalDeployer(local, settings, { bucketSuffix: bucketSuffix(runName) });
    // The same harvester as on AWS, against the CloudWatch Logs API the local backend serves.
    // One attempt per call, as on AWS: the harvester's own retries and pacing are what run.
    const logsClient = localLogsClient(local.logs.endpoint, local.logs.region, LOGS_CLIENT_CONFIG);
    const harvester = new AwsHarvester(cloudWatchLogsApi(logsClient), LOCAL_HARVEST_TIMINGS);
    return {
      deployer,
      harvesterFor: () => harvester,
      resourceName: (cell, attempt) =>
        functionName(cell, settings.namePrefix, settings.runTag, attempt),
      local: {
        cpu_scaling_emulated: local.runtime.cpuScalingEmulated,
        account_concurrency: local.runtime.accountConcurrency,
        network: {
          mbps: emulated?.mbps ?? null,
          s3_latency_ms: emulated?.s3LatencyMs ?? 0,
        },
        notes: localNotes(
          local.runtime.cpuScalingEmulated,
          local.runtime.accountConcurrency,
          describeNetwork(emulated),
        ),
      },
      async stop() {
        await deployer.close();
        logsClient.destroy();
        await local.stop();
      },
    };
  }
  const { PulumiDeployer, resolvePassphrase, stackName } = await import("./pulumi-deployer");
  const passphrase = resolvePassphrase(runDir, io.env);
  io.stdout.write(
    `Pulumi secrets passphrase: ${passphrase.source === "env" ? "from PULUMI_CONFIG_PASSPHRASE" : `generated, saved in ${passphrase.source}`}\n`,
  );
  const deployer = new PulumiDeployer({ runDir, runName, settings, passphrase, env: io.env });
  const clients = new Map<string, CloudWatchLogsClient>();
  return {
    deployer,
    harvesterFor(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = harvestLogsClient(region);
        clients.set(region, client);
      }
      return new AwsHarvester(cloudWatchLogsApi(client));
    },
    resourceName: (cell) => stackName(runName, cell),
    async stop() {
      await deployer.close();
      for (const c of clients.values()) c.destroy();
    },
  };
}

/** Asks for confirmation on a TTY; refuses without one. */
async function confirm(io: RunIo, question: string): Promise<boolean> {
  if (io.stdin.isTTY !== true) {
    io.stderr.write(
      "Refusing to deploy to AWS without confirmation: stdin is not a terminal. Pass --yes to proceed.\n",
    );
    return false;
  }
  const rl = createInterface({ input: io.stdin, output: io.stdout });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Destroys whatever the ledger says may be live; returns the number that failed. */
async function destroyLive(session: BackendSession, runDir: string, io: RunIo): Promise<number> {
  const live = liveEntries(join(runDir, RUN_FILES.ledger));
  if (live.length === 0) return 0;
  // A Ctrl-C, SIGTERM or SIGHUP must not end us with Node's default action while the
  // (detached) Pulumi CLI destroys on, unsupervised: say so and let the destroys finish.
  const removeSignals = io.onSignals((signal) => {
    io.stderr.write(
      `${signal}: still destroying leftover cells, letting them finish; if you force-kill now, run --cleanup ${runDir} again\n`,
    );
  });
  const ledger = new Ledger(join(runDir, RUN_FILES.ledger));
  let failures = 0;
  try {
    // Destroying needs what deploying needs (the aws plugin on the Pulumi backend).
    await session.deployer.prepare(live.map((e) => e.cell));
    for (const entry of live) {
      io.stdout.write(`destroying leftover ${entry.resource} (${entry.cell_id})\n`);
      try {
        await session.deployer.destroy(entry.cell);
        ledger.gone(entry.backend, entry.cell_id, entry.cell, entry.resource);
      } catch (e: unknown) {
        failures++;
        io.stderr.write(
          `could not destroy ${entry.resource}: ${e instanceof Error ? e.message : String(e)}\n`,
        );
      }
    }
  } finally {
    ledger.close();
    removeSignals();
  }
  return failures;
}

/** Runs the loop over `cells` in a run directory whose manifest exists; returns the exit code. */
async function execute(
  runDir: string,
  manifest: Manifest,
  session: BackendSession,
  cells: readonly Cell[],
  io: RunIo,
): Promise<number> {
  const { runLoop } = await import("./loop");
  const { lambdaClientFor } = await import("./invoker");
  const controller = new AbortController();
  let interrupted = false;
  const removeSignals = io.onSignals((signal) => {
    if (interrupted) {
      io.stderr.write(
        `${signal}: still destroying live cells; if you force-kill now, run --cleanup ${runDir}\n`,
      );
      return;
    }
    interrupted = true;
    io.stderr.write(`\n${signal}: aborting, destroying every live cell before exiting...\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  const journal = new Journal(join(runDir, RUN_FILES.journal));
  const ledger = new Ledger(join(runDir, RUN_FILES.ledger));
  const invocationsOut = new JsonlAppender(join(runDir, RUN_FILES.invocations));
  const recordsOut = new JsonlAppender(join(runDir, RUN_FILES.records));
  const progress = new Progress(
    io.stdout,
    cells.length,
    Date.now,
    // What the plan sends: each cell's warm-up and measured trials.
    cells.reduce(
      (n, c) =>
        n +
        (manifest.warmup_invocations?.[c.workload] ?? 0) +
        manifest.invocations[c.workload] * manifest.trials,
      0,
    ),
  );
  let answer = false;
  try {
    await session.deployer.prepare(cells);
    const summary = await runLoop(
      {
        deployer: session.deployer,
        harvesterFor: (d) => session.harvesterFor(d.region),
        invokeClientFor: lambdaClientFor,
        resourceName: session.resourceName,
        journal,
        ledger,
        invocationsOut,
        recordsOut,
        events: progress,
        signal: controller.signal,
      },
      {
        order: cells,
        invocations: manifest.invocations,
        trials: manifest.trials,
        concurrency: manifest.concurrency,
        parallel: manifest.parallel,
        warmup: manifest.warmup_invocations ?? sameForAll(0),
        load: manifest.load ?? { model: "closed" },
        seed: manifest.order_seed,
      },
    );
    progress.stop();
    const missing = missingRecords(readJournal(join(runDir, RUN_FILES.journal)));
    io.stdout.write(
      `\n${summary.done.length} cells done, ${summary.failed.length} failed, ${summary.notStarted.length} not started; ${missing} records missing in total.\n`,
    );
    for (const f of summary.failed) io.stderr.write(`failed: ${f.cellId}: ${f.error}\n`);
    if (summary.leftLive.length > 0) {
      io.stderr.write(
        `still live (destroy failed): ${summary.leftLive.join(", ")}; run --cleanup ${runDir}\n`,
      );
    }
    io.stdout.write(`Run directory: ${runDir}\nNext: npm run analyze -- ${runDir}\n`);
    answer = !summary.aborted && summary.done.length > 0;
    if (summary.aborted) {
      io.stderr.write(`Interrupted. Finish it with: --resume ${runDir}\n`);
      return EXIT.interrupted;
    }
    return summary.failed.length > 0 || summary.leftLive.length > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    progress.stop();
    removeSignals();
    journal.close();
    ledger.close();
    invocationsOut.close();
    recordsOut.close();
    if (answer) await printAnswer(runDir, io);
  }
}

function printPlan(io: RunIo, options: RunOptions, order: readonly Cell[]): void {
  const o = options;
  const load =
    o.load.model === "closed"
      ? `${o.invocations.events} events / ${o.invocations.batch} batch invocations per trial, concurrency ${o.concurrency}`
      : `open loop: Poisson arrivals at ${o.load.arrival_rate_per_s}/s for ${o.load.duration_s} s per trial (≈ ${o.load.arrival_rate_per_s * o.load.duration_s} invocations, sent at their times)`;
  io.stdout.write(
    `Plan: ${order.length} cells (--matrix ${o.matrix}) on ${o.backend}, ${o.trials} trials, ` +
      `${load}, warm-up ${o.warmup.events + o.warmup.batch === 0 ? "off" : `${o.warmup.events} events / ${o.warmup.batch} batch invocations per cell`}, ` +
      `parallel ${o.parallel}, object ${o.settings.objectMb} MiB, ` +
      `event ${o.settings.eventBytes} B, ${o.settings.architecture}, ${o.settings.region}, order seed ${o.seed}\n`,
  );
  io.stdout.write(precisionLine(o, order));
  const defaults = Object.entries(o.localDefaults);
  if (defaults.length > 0) {
    io.stdout.write(
      `Local defaults (so the full matrix finishes within ~10 minutes; set the flags to override): ${defaults
        .map(([k, v]) => localDefaultFlag(k, v))
        .join(", ")}\n`,
    );
  }
  const estimate = estimateRun({
    cells: order,
    invocations: o.invocations,
    trials: o.trials,
    concurrency: o.concurrency,
    load: o.load,
    warmup: o.warmup,
    objectMb: o.settings.objectMb,
    eventBytes: o.settings.eventBytes,
    architecture: o.settings.architecture,
  });
  io.stdout.write(
    formatEstimate(
      estimate,
      o.backend === "aws"
        ? "Estimated AWS cost of this run:"
        : "What this run would cost on AWS (the local backend bills nothing):",
    ),
  );
}

/** The plan's precision line: what a cell's warm p95 needs and what this plan gives it. */
function precisionLine(o: RunOptions, order: readonly Cell[]): string {
  const model = { sigma: o.precision.sigma };
  const relative = o.precision.relativePct / 100;
  const perCell = (w: Workload): string => {
    const n =
      (o.load.model === "open" ? o.load.arrival_rate_per_s * o.load.duration_s : o.invocations[w]) *
      o.trials;
    const bound = invocationsToBoundQuantile();
    const hw = relativeHalfWidth(n, model) * 100;
    return `${Number(n.toFixed(1))} ${w} invocations per cell → ±${hw.toFixed(0)} %${n < bound ? `, too few to bound a p95 (< ${bound})` : ""}`;
  };
  const workloads = WORKLOADS.filter((w) => order.some((c) => c.workload === w));
  return (
    `Precision of a cell's warm p95 (95 % confidence, log-normal σ ${o.precision.sigma}, --precision/--sigma): ` +
    `≥ ${invocationsToBoundQuantile()} invocations just to bound it; ±${o.precision.relativePct} % needs ` +
    `${invocationsForPrecision(relative, model)} warm invocations. This plan: ${workloads.map(perCell).join(", ")} ` +
    `(before throttles and failures)\n`
  );
}

/** What a dry run on AWS does not check and the real run does first (automation/preflight.ts). */
const DRY_RUN_AWS_CHECKS =
  "Not checked by a dry run; the real run checks first: the Pulumi CLI (pulumi version), " +
  "AWS credentials (STS GetCallerIdentity) and the account's Lambda concurrency in the region " +
  `(GetAccountSettings: at least ${LAMBDA.minUnreservedConcurrency} left unreserved beside the reserved cells, ` +
  "and room in the unreserved pool for --parallel x --concurrency).";

async function newRun(untagged: RunOptions, io: RunIo): Promise<number> {
  // Function names unique per run: nothing leaked or running elsewhere can collide with them.
  const options = { ...untagged, settings: { ...untagged.settings, runTag: newRunTag() } };
  const order = shuffled(options.cells, options.seed);
  printPlan(io, options, order);
  if (options.dryRun) {
    io.stdout.write("Dry run: nothing was created.\n");
    // The plan and estimate need neither the Pulumi CLI nor credentials; say what they gate.
    if (options.backend === "aws") io.stdout.write(`${DRY_RUN_AWS_CHECKS}\n`);
    return EXIT.ok;
  }
  if (options.backend === "aws") {
    try {
      const report = await preflight(
        io.preflightApi,
        options.settings.region,
        options.cells,
        options.parallel,
        offeredLoad(
          options.load,
          options.concurrency,
          options.settings.objectMb,
          options.settings.eventBytes,
        ),
      );
      io.stdout.write(
        `Preflight ok: Pulumi ${report.pulumi}, account ${report.account}, Lambda concurrency ${report.unreservedConcurrentExecutions} unreserved of ${report.concurrentExecutions}, at most ${report.peakReserved} reserved at once\n`,
      );
    } catch (e: unknown) {
      if (!(e instanceof PreflightError)) throw e;
      io.stderr.write(`Preflight failed: ${e.message}\n`);
      return EXIT.failed;
    }
  }
  if (
    options.backend === "aws" &&
    !options.yes &&
    !(await confirm(io, "Deploy and run this on AWS? [y/N] "))
  ) {
    io.stderr.write("Not confirmed: nothing was created.\n");
    return EXIT.failed;
  }
  const runDir = resolve(
    options.out ?? join(PROJECT_ROOT, "results", timestampName(options.backend)),
  );
  makeDirectory("--out", options.out ?? runDir, runDir);
  if (readdirSync(runDir).length > 0) {
    throw new InvalidInputError(
      "--out",
      options.out ?? runDir,
      "a new or empty directory (continue an existing run with --resume DIR)",
    );
  }
  mkdirSync(join(runDir, RUN_FILES.logsDir), { recursive: true });
  const session = await openBackend(
    options.backend,
    runDir,
    options.settings,
    io,
    options.localNetwork,
  );
  try {
    // Loaded only for a local run: it reads the local runtime's CPU model.
    const { capacityNote } = await import("./local-capacity");
    const local =
      session.local === undefined
        ? undefined
        : {
            ...session.local,
            notes: [
              ...session.local.notes,
              capacityNote(order, options.load, options.concurrency, options.invocations),
              ...Object.entries(options.localDefaults).map(
                ([k, v]) =>
                  `local default ${localDefaultFlag(k, v)}: ${LOCAL_DEFAULT_REASONS[k] ?? "local backend"}`,
              ),
            ],
          };
    const manifest = buildManifest(options, options.cells, order, local);
    writeManifest(runDir, manifest);
    io.stdout.write(`Run directory: ${runDir}\n`);
    return await execute(runDir, manifest, session, order, io);
  } finally {
    await session.stop();
  }
}

/**
 * Journals the runs of unfinished cells as discarded: their invocations stay in the
 * append-only files, but the cell is redone with new run ids, and readers can tell.
 */
function markDiscarded(runDir: string): void {
  const file = join(runDir, RUN_FILES.journal);
  const entries = readJournal(file);
  const unfinished = unfinishedCells(entries);
  if (unfinished.size === 0) return;
  const journal = new Journal(file);
  try {
    for (const id of unfinished) {
      const runIds = entries
        .filter((e) => e.cell_id === id && e.phase === "trial-start" && e.run_id !== undefined)
        .map((e) => e.run_id);
      journal.write(id, "failed", {
        detail: { error: "unfinished attempt discarded by --resume", discarded_run_ids: runIds },
      });
    }
  } finally {
    journal.close();
  }
}

async function resumeRun(
  dir: string,
  yes: boolean,
  parallel: number | undefined,
  io: RunIo,
): Promise<number> {
  const runDir = resolve(dir);
  const stored = readManifest(runDir, "--resume");
  const manifest: Manifest = parallel === undefined ? stored : { ...stored, parallel };
  const settings = settingsOfManifest(manifest);
  const done = doneCells(readJournal(join(runDir, RUN_FILES.journal)));
  const remaining = cellsOfManifest(manifest).filter((c) => !done.has(cellId(c)));
  io.stdout.write(
    `Resuming ${runDir}: ${done.size} cells done, ${remaining.length} to run (order seed ${manifest.order_seed}).\n`,
  );
  if (manifest.backend === "aws") {
    try {
      await preflight(
        io.preflightApi,
        settings.region,
        remaining,
        manifest.parallel,
        offeredLoad(
          manifest.load ?? { model: "closed" },
          manifest.concurrency,
          manifest.object_mb,
          manifest.event_bytes,
        ),
      );
    } catch (e: unknown) {
      if (!(e instanceof PreflightError)) throw e;
      io.stderr.write(`Preflight failed: ${e.message}\n`);
      return EXIT.failed;
    }
    if (!yes && !(await confirm(io, `Resume ${remaining.length} cells on AWS? [y/N] `))) {
      io.stderr.write("Not confirmed: nothing was changed.\n");
      return EXIT.failed;
    }
  }
  markDiscarded(runDir);
  const session = await openBackend(
    manifest.backend,
    runDir,
    settings,
    io,
    networkOfManifest(manifest),
  );
  try {
    // Leftovers of the interrupted attempt go first, so no cell is deployed twice.
    if ((await destroyLive(session, runDir, io)) > 0) return EXIT.failed;
    if (remaining.length === 0) {
      io.stdout.write("Nothing left to run.\n");
      return EXIT.ok;
    }
    return await execute(runDir, manifest, session, remaining, io);
  } finally {
    await session.stop();
  }
}

async function cleanupRun(dir: string, io: RunIo): Promise<number> {
  const runDir = resolve(dir);
  const manifest = readManifest(runDir, "--cleanup");
  const live = liveEntries(join(runDir, RUN_FILES.ledger));
  if (live.length === 0) {
    io.stdout.write(`Nothing live in ${runDir}.\n`);
    return EXIT.ok;
  }
  const session = await openBackend(manifest.backend, runDir, settingsOfManifest(manifest), io);
  try {
    const failures = await destroyLive(session, runDir, io);
    io.stdout.write(`Destroyed ${live.length - failures} of ${live.length}.\n`);
    return failures > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await session.stop();
  }
}

async function reharvestRun(dir: string, io: RunIo): Promise<number> {
  const controller = new AbortController();
  const removeSignals = io.onSignals((signal) => {
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  try {
    const { reharvest } = await import("./reharvest");
    return await reharvest(resolve(dir), io, { signal: controller.signal });
  } finally {
    removeSignals();
  }
}

/**
 * The one-line answer per workload (strategy cost, as `npm run analyze` by default), from the
 * closed run files; the run's outcome never depends on it.
 */
async function printAnswer(runDir: string, io: RunIo): Promise<void> {
  try {
    // Loaded here, not at start: --help and bad flags must not load the analysis.
    const { analyseRun } = await import("../analysis/analyze");
    for (const p of analyseRun(runDir).picks) io.stdout.write(`Answer: ${p.oneLine}\n`);
  } catch (e: unknown) {
    io.stderr.write(`Answer: not available (${e instanceof Error ? e.message : String(e)})\n`);
  }
}

/** The CLI: returns the exit code (0 ok, 1 failure, 2 bad flags, 130 interrupted). */
export async function main(argv: readonly string[], io: RunIo = processIo): Promise<number> {
  try {
    const parsed = parseArgs(argv, Math.random, io.env);
    switch (parsed.mode) {
      case "help":
        io.stdout.write(USAGE);
        return EXIT.ok;
      case "run":
        return await newRun(parsed.options, io);
      case "resume":
        return await resumeRun(parsed.dir, parsed.yes, parsed.parallel, io);
      case "cleanup":
        return await cleanupRun(parsed.dir, io);
      case "reharvest":
        return await reharvestRun(parsed.dir, io);
    }
  } catch (e: unknown) {
    if (isInvalidInputError(e)) {
      io.stderr.write(`${e.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  ignoreClosedTerminal();
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
