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
 * dying with it; `--cleanup` then finds the stack in the ledger.
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
import { delimiter, dirname, isAbsolute } from "node:path";
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

/**
 * Runs `command args` the way the Automation API's runner does (non-interactive, output
 * streamed to the callbacks, a failed exit turned into the library's CommandError), but
 * detached into its own process group, with `additionalEnv` as the whole environment, and
 * with one SIGINT on abort (Pulumi's graceful cancel: it finishes the resource operations in
 * flight, saves the state and exits).
 */
export function runDetached(command: string): RunFn {
  const { CommandResult, createCommandError } = internals();
  return (args, cwd, additionalEnv, onOutput, onError, signal) => {
    const argv = args.includes("--non-interactive") ? [...args] : [...args, "--non-interactive"];
    const env: Record<string, string> = { ...additionalEnv, PULUMI_AUTOMATION_API: "true" };
    // As the library does: an absolute CLI path picks up the plugins bundled beside it.
    if (isAbsolute(command)) env.PATH = `${dirname(command)}${delimiter}${env.PATH ?? ""}`;
    return new Promise((resolve, reject) => {
      const child = spawn(command, argv, {
        cwd,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
        onOutput?.(d);
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
        onError?.(d);
      });
      let interrupted = false;
      const interrupt = (): void => {
        if (interrupted || child.exitCode !== null || child.signalCode !== null) return;
        interrupted = true;
        child.kill("SIGINT");
      };
      if (signal?.aborted === true) interrupt();
      else signal?.addEventListener("abort", interrupt, { once: true });
      const done = (): void => signal?.removeEventListener("abort", interrupt);
      child.on("error", (err) => {
        done();
        reject(createCommandError(new CommandResult("", err.message, -2, err)));
      });
      child.on("close", (code, killedBy) => {
        done();
        const exit = code ?? -1;
        const result = new CommandResult(
          stdout,
          killedBy === null ? stderr : `${stderr}\n(killed by ${killedBy})`,
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
