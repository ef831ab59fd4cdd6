/**
 * What the run CLI needs of its process: output streams, stdin for confirmation, env, the
 * preflight calls and signal handlers ({@link RunIo}, injectable for tests), and its exit codes.
 */
import { createInterface } from "node:readline/promises";
import { awsPreflightApi, type PreflightApi } from "./preflight";

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
export function ignoreClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EIO" && e.code !== "EPIPE") throw e;
    });
  }
}

export const processIo: RunIo = {
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

/** Asks for confirmation on a TTY; refuses without one. */
export async function confirm(io: RunIo, question: string): Promise<boolean> {
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
