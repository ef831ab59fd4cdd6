/**
 * How the Automation API runs the Pulumi CLI for us: in its own process group, with exactly
 * the environment we give it, and with exactly one SIGINT when the operation is aborted.
 *
 * Why not the library's own runner: `@pulumi/pulumi/automation` (cmd.ts) spawns the CLI with
 * execa and fixed options: no `detached`, and execa's `extendEnv` default merges the whole of
 * `process.env` into the child. So (1) the CLI shares our process group, a Ctrl-C in the
 * terminal reaches it directly, and the abort signal we pass to `up`/`destroy` then sends it a
 * second SIGINT, which Pulumi takes as "terminate now" (resources in flight are orphaned); and
 * (2) no environment filter of ours can ever drop a variable. Of the two possible fixes, only
 * "own process group + one SIGINT from us" works reliably: leaving the child in our group and
 * forwarding nothing would deliver no signal at all when the abort comes from anything but
 * the terminal (`kill -INT <our pid>`, SIGTERM, a failure elsewhere). Being out of the
 * terminal's group also shields a running `destroy` from a second Ctrl-C, and a CLI whose
 * parent is killed outright (SIGKILL) finishes its operation and saves the state instead of
 * dying with it; `--cleanup` then finds the stack in the ledger. For the same reason its
 * stdout and stderr are files, not pipes (see {@link runDetached}): a pipe whose reader died
 * kills the CLI with SIGPIPE at its next write, mid-operation.
 *
 * `LocalWorkspace` accepts any `pulumiCommand`; ours is the library's own (found on PATH and
 * version-checked by `PulumiCommand.get`) with its `run` method replaced. `run`, its
 * `CommandResult` and `createCommandError` are internal to the library (absent from its
 * type declarations), so they are looked up at run time and checked: an upgrade that changes
 * them fails loudly here (and in test/automation/pulumi-cli.ts), never silently. The errors
 * must be the library's own classes, because `createOrSelectStack` catches
 * `StackNotFoundError` by class.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, rmSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import * as pulumiCmd from "@pulumi/pulumi/automation/cmd";
import * as pulumiErrors from "@pulumi/pulumi/automation/errors";

/** The signature of the Automation API's internal `PulumiCommand.run`. */
type RunFn = (
  args: string[],
  cwd: string,
  additionalEnv: Record<string, string>,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  signal?: AbortSignal,
) => Promise<unknown>;

interface Internals {
  readonly CommandResult: new (
    stdout: string,
    stderr: string,
    code: number,
    err?: Error,
  ) => unknown;
  readonly createCommandError: (result: unknown) => Error;
}

function internals(): Internals {
  const CommandResult = (pulumiCmd as unknown as Record<string, unknown>).CommandResult;
  const createCommandError = (pulumiErrors as unknown as Record<string, unknown>)
    .createCommandError;
  const run = (PulumiCommand.prototype as unknown as Record<string, unknown>).run;
  if (
    typeof CommandResult !== "function" ||
    typeof createCommandError !== "function" ||
    typeof run !== "function"
  ) {
    throw new Error(
      "this @pulumi/pulumi no longer has PulumiCommand.run, CommandResult or createCommandError (internals automation/pulumi-cli.ts replaces); update automation/pulumi-cli.ts",
    );
  }
  return {
    CommandResult: CommandResult as Internals["CommandResult"],
    createCommandError: createCommandError as Internals["createCommandError"],
  };
}

/** How often the CLI's output files are read for the callbacks, ms. */
export const OUTPUT_POLL_MS = 100;

let commandSeq = 0;

/**
 * One output stream of the CLI as a file: the child writes to its descriptor (a file, unlike a
 * pipe, never kills the writer when we are gone), we read what it appended.
 */
class OutputFile {
  readonly path: string;
  /** The child's descriptor (write end); closed in our process once the child has it. */
  readonly writeFd: number;
  private readonly readFd: number;
  private readonly decoder = new StringDecoder("utf8");
  private position = 0;
  text = "";

  constructor(
    path: string,
    private readonly onText?: (d: string) => void,
  ) {
    this.path = path;
    this.writeFd = openSync(path, "w");
    this.readFd = openSync(path, "r");
  }

  /** Reads what was appended since the last read and passes it on. */
  drain(final = false): void {
    const buf = Buffer.alloc(65_536);
    for (;;) {
      const n = readSync(this.readFd, buf, 0, buf.length, this.position);
      if (n === 0) break;
      this.position += n;
      this.pass(this.decoder.write(buf.subarray(0, n)));
    }
    if (final) this.pass(this.decoder.end());
  }

  private pass(d: string): void {
    if (d === "") return;
    this.text += d;
    this.onText?.(d);
  }

  /** After the final drain: the file is no longer needed. */
  remove(): void {
    closeSync(this.readFd);
    rmSync(this.path, { force: true });
  }
}

/**
 * Runs `command args` the way the Automation API's runner does (non-interactive, output
 * streamed to the callbacks, a failed exit turned into the library's CommandError), but
 * detached into its own process group, with `additionalEnv` as the whole environment, and
 * with one SIGINT on abort (Pulumi's graceful cancel: it finishes the resource operations in
 * flight, saves the state and exits).
 *
 * The child's stdout and stderr are two files in `cwd` (`.pulumi-<pid>-<n>.stdout|.stderr`),
 * read every {@link OUTPUT_POLL_MS} ms for the callbacks (the deployer appends them to the
 * cell's `logs/<cell>.log`) and in full for the library's CommandResult, which parses stdout
 * and matches errors in stderr: that is why the two stay apart. Removed after the command; if
 * our process is killed they stay, with the rest of the CLI's output.
 */
export function runDetached(command: string): RunFn {
  const { CommandResult, createCommandError } = internals();
  return (args, cwd, additionalEnv, onOutput, onError, signal) => {
    const argv = args.includes("--non-interactive") ? [...args] : [...args, "--non-interactive"];
    const env: Record<string, string> = { ...additionalEnv, PULUMI_AUTOMATION_API: "true" };
    // As the library does: an absolute CLI path picks up the plugins bundled beside it.
    if (isAbsolute(command)) env.PATH = `${dirname(command)}${delimiter}${env.PATH ?? ""}`;
    return new Promise((resolve, reject) => {
      const base = join(cwd, `.pulumi-${process.pid}-${++commandSeq}`);
      const out = new OutputFile(`${base}.stdout`, onOutput);
      const err = new OutputFile(`${base}.stderr`, onError);
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(command, argv, {
          cwd,
          env,
          detached: true,
          stdio: ["ignore", out.writeFd, err.writeFd],
        });
      } finally {
        // The child holds its own copies of the descriptors.
        closeSync(out.writeFd);
        closeSync(err.writeFd);
      }
      const poll = setInterval(() => {
        out.drain();
        err.drain();
      }, OUTPUT_POLL_MS);
      let finished = false;
      const finish = (): void => {
        // 'error' and 'close' may both come.
        if (finished) return;
        finished = true;
        clearInterval(poll);
        for (const f of [out, err]) {
          f.drain(true);
          f.remove();
        }
      };
      let interrupted = false;
      const interrupt = (): void => {
        if (interrupted || child.exitCode !== null || child.signalCode !== null) return;
        interrupted = true;
        child.kill("SIGINT");
      };
      if (signal?.aborted === true) interrupt();
      else signal?.addEventListener("abort", interrupt, { once: true });
      const done = (): void => signal?.removeEventListener("abort", interrupt);
      child.on("error", (e) => {
        done();
        finish();
        reject(createCommandError(new CommandResult("", e.message, -2, e)));
      });
      child.on("close", (code, killedBy) => {
        done();
        finish();
        const exit = code ?? -1;
        const result = new CommandResult(
          out.text,
          killedBy === null ? err.text : `${err.text}\n(killed by ${killedBy})`,
          exit,
        );
        if (exit === 0) resolve(result);
        else reject(createCommandError(result));
      });
    });
  };
}

/**
 * The Pulumi CLI on PATH (version-checked by the library), run through {@link runDetached}:
 * pass it as `pulumiCommand` to every `LocalWorkspace`.
 */
export async function detachedPulumiCommand(): Promise<PulumiCommand> {
  const found = await PulumiCommand.get();
  const run = runDetached(found.command);
  // Everything but `run` (command, version) is read from the library's own object.
  return Object.assign(Object.create(found) as PulumiCommand, { run });
}
