/**
 * `npx ts-node automation/run.ts`: the experiment. Parses flags, prints the plan and its AWS
 * cost estimate, runs preflight and asks for confirmation on AWS, then runs the loop over the
 * cells in a seeded random order and leaves a run directory that `npm run analyze` reads.
 * Also `--resume DIR`, `--cleanup DIR` and `--reharvest DIR`. `main(argv)` returns the exit code.
 *
 * The commands (new-run.ts, resume.ts) load only once the flags are parsed, and the local
 * backend, the AWS SDK clients and Pulumi only when a run needs them, so that --help and bad
 * flags answer at once.
 */
import { isInvalidInputError } from "../core/errors";
import { parseArgs } from "./cli-args";
import { EXIT, ignoreClosedTerminal, processIo, type RunIo } from "./run-io";
import { USAGE } from "./usage";

export { EXIT, type RunIo } from "./run-io";

/** The CLI: returns the exit code (0 ok, 1 failure, 2 bad flags, 130 interrupted). */
export async function main(argv: readonly string[], io: RunIo = processIo): Promise<number> {
  try {
    const parsed = parseArgs(argv, Math.random, io.env);
    switch (parsed.mode) {
      case "help":
        io.stdout.write(USAGE);
        return EXIT.ok;
      case "run":
        return await (await import("./new-run")).newRun(parsed.options, io);
      case "resume":
        return await (await import("./resume")).resumeRun(
          parsed.dir,
          parsed.yes,
          parsed.parallel,
          io,
        );
      case "cleanup":
        return await (await import("./resume")).cleanupRun(parsed.dir, io);
      case "reharvest":
        return await (await import("./resume")).reharvestRun(parsed.dir, io);
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
