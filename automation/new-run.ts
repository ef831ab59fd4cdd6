/**
 * A new run: the run directory is checked, the plan printed, preflight run and confirmation
 * asked on AWS, then the directory and its manifest are written and the cells run.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { makeDirectory } from "../core/dirs";
import { InvalidInputError } from "../core/errors";
import { shuffled } from "../core/matrix";
import { newRunTag } from "../core/names";
import { PROJECT_ROOT } from "../core/paths";
import { type Backend, RUN_FILES } from "../core/run-files";
import { openBackend } from "./backend-session";
import type { RunOptions } from "./cli-args";
import { execute } from "./execute";
import { localDefaultFlag } from "./load-flags";
import { capacityNote } from "./local-capacity";
import { peakS3Bytes } from "./local-s3-storage";
import { buildManifest, writeManifest } from "./manifest";
import { DRY_RUN_AWS_CHECKS, printPlan } from "./plan";
import { offeredLoad, PreflightError, preflight } from "./preflight";
import { localDefaultReason } from "./run-defaults";
import { confirm, EXIT, type RunIo } from "./run-io";

function timestampName(backend: Backend, now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${backend}`;
}

/**
 * Makes the run directory (`--out`, named as the user typed it in errors) and its missing
 * parents; it must be new or empty.
 */
function makeRunDir(value: string, runDir: string): void {
  makeDirectory("--out", value, runDir);
  if (readdirSync(runDir).length > 0) {
    throw new InvalidInputError(
      "--out",
      value,
      "a new or empty directory (continue an existing run with --resume DIR)",
    );
  }
}

/**
 * Checks the run directory before anything prints, creating nothing: the missing part of the
 * path is made, to prove it can be, and removed again (a dry run or an unconfirmed run leaves
 * no trace). Throws what {@link makeRunDir} throws.
 */
function checkRunDir(value: string, runDir: string): void {
  let existing = runDir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    makeRunDir(value, runDir);
  } finally {
    // Also when a deeper part of the path failed: the parts made before it go again.
    for (let p = runDir; p !== existing; p = dirname(p)) {
      if (existsSync(p)) rmdirSync(p);
    }
  }
}

/** Runs a new experiment; returns the exit code. */
export async function newRun(untagged: RunOptions, io: RunIo): Promise<number> {
  // Function names unique per run: nothing leaked or running elsewhere can collide with them.
  const options = { ...untagged, settings: { ...untagged.settings, runTag: newRunTag() } };
  const order = shuffled(options.cells, options.seed);
  const runDir = resolve(
    options.out ?? join(PROJECT_ROOT, "results", timestampName(options.backend)),
  );
  // A bad --out is bad input: said before the plan, not after it (or after a confirmation).
  checkRunDir(options.out ?? runDir, runDir);
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
  makeRunDir(options.out ?? runDir, runDir);
  mkdirSync(join(runDir, RUN_FILES.logsDir), { recursive: true });
  const session = await openBackend(
    options.backend,
    runDir,
    options.settings,
    io,
    options.localNetwork,
    {
      peakBytes: peakS3Bytes(options),
      ...(options.localS3Storage === undefined ? {} : { mode: options.localS3Storage }),
    },
  );
  try {
    const local =
      session.local === undefined
        ? undefined
        : {
            ...session.local,
            notes: [
              ...session.local.notes,
              capacityNote(order, options.load, options.concurrency, options.invocations),
              ...Object.entries(options.localDefaults).map(
                ([k, v]) => `local default ${localDefaultFlag(k, v)}: ${localDefaultReason(k, v)}`,
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
