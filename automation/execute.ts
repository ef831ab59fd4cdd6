/**
 * Running cells in a run directory whose manifest exists: the loop with its journal, ledger,
 * output files and progress, interrupted by signals; destroying what the ledger says may be
 * live; and the one-line answer at the end.
 */
import { join } from "node:path";
import type { Cell } from "../core/cell";
import { type Manifest, RUN_FILES } from "../core/run-files";
import { sameForAll } from "../core/workloads";
import type { BackendSession } from "./backend-session";
import { Journal, missingRecords, readJournal } from "./journal";
import { JsonlAppender, readJsonl } from "./jsonl";
import { Ledger, liveEntries } from "./ledger";
import { Progress } from "./progress";
import { EXIT, type RunIo } from "./run-io";

/** Destroys whatever the ledger says may be live; returns the number that failed. */
export async function destroyLive(
  session: BackendSession,
  runDir: string,
  io: RunIo,
): Promise<number> {
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

/**
 * The harvested records that report a failed ingestion (`ok: false`: the function ran but its
 * S3 writes failed, e.g. a full disk under the local S3 server), with the first one's error.
 */
export function ingestionFailures(recordsFile: string): {
  readonly failed: number;
  readonly total: number;
  readonly first?: string;
} {
  const records = readJsonl(recordsFile).filter(
    (r): r is { ok: unknown; error?: unknown } => typeof r === "object" && r !== null && "ok" in r,
  );
  const failed = records.filter((r) => r.ok === false);
  const first = failed.find((r) => typeof r.error === "string")?.error;
  return {
    failed: failed.length,
    total: records.length,
    ...(typeof first === "string" ? { first } : {}),
  };
}

/** Runs the loop over `cells` in a run directory whose manifest exists; returns the exit code. */
export async function execute(
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
    // Failed ingestions are data, not a failed run, but they must not pass unseen.
    const ingest = ingestionFailures(join(runDir, RUN_FILES.records));
    if (ingest.failed > 0) {
      io.stderr.write(
        `${ingest.failed} of ${ingest.total} records report a failed ingestion (the analysis counts them as failures); the first: ${ingest.first ?? "no error text"}\n`,
      );
    }
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
