/** A RunIo for automation/run.ts main() in tests: output captured, no TTY, no AWS account. */
import { PassThrough } from "node:stream";
import type { RunIo } from "../../automation/run";

/** Captures stdout/stderr; the preflight API refuses every call unless one is given. */
export function fakeRunIo(
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
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    preflightApi,
    onSignals: () => () => undefined,
    out: () => out,
    err: () => err,
  };
}
