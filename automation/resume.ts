/**
 * The run CLI's commands on an existing run directory: `--resume` (finish an interrupted run),
 * `--cleanup` (destroy what may still be live) and `--reharvest` (collect missing records).
 */
import { join, resolve } from "node:path";
import { cellId } from "../core/cell";
import { type Manifest, RUN_FILES, readManifest } from "../core/run-files";
import { sameForAll } from "../core/workloads";
import {
  cellsOfManifest,
  networkOfManifest,
  openBackend,
  settingsOfManifest,
} from "./backend-session";
import { destroyLive, execute } from "./execute";
import { doneCells, Journal, readJournal, unfinishedCells } from "./journal";
import { liveEntries } from "./ledger";
import { peakS3Bytes } from "./local-s3-storage";
import { offeredLoad, PreflightError, preflight } from "./preflight";
import { confirm, EXIT, type RunIo } from "./run-io";

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

/** `--resume DIR`: returns the exit code. */
export async function resumeRun(
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
    {
      peakBytes: peakS3Bytes({
        cells: cellsOfManifest(manifest),
        settings,
        invocations: manifest.invocations,
        warmup: manifest.warmup_invocations ?? sameForAll(0),
        trials: manifest.trials,
        parallel: manifest.parallel,
      }),
    },
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

/** `--cleanup DIR`: returns the exit code. */
export async function cleanupRun(dir: string, io: RunIo): Promise<number> {
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

/** `--reharvest DIR`: returns the exit code. */
export async function reharvestRun(dir: string, io: RunIo): Promise<number> {
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
