import type { Test } from "tap";

/** The environment variables the handler reads (its settings, S3 endpoint, AWS identity). */
export const HANDLER_ENV_KEYS = [
  "OUTPUT_BUCKET",
  "WORKLOAD",
  "MEMORY_MB",
  "BATCH_EVENTS",
  "MULTIPART_MB",
  "OBJECT_MB",
  "EVENT_BYTES",
  "RESERVED_CONCURRENCY",
  "NAME_PREFIX",
  "S3_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
] as const;

/**
 * Clears `keys` from process.env, then sets `env`; returns a function that puts every key's
 * previous value (or absence) back. Tests call code that reads process.env in-process, so
 * each test must leave the environment as it found it.
 */
export function replaceEnv(
  keys: readonly string[],
  env: Readonly<Record<string, string>>,
): () => void {
  const saved = new Map(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** {@link replaceEnv} for the rest of one tap test. */
export function useEnv(
  t: Test,
  keys: readonly string[],
  env: Readonly<Record<string, string>>,
): void {
  t.teardown(replaceEnv(keys, env));
}

/** What a function wrote to stdout (and stderr, when asked) and how it ended. */
export interface CapturedOutput<T> {
  readonly stdout: string[];
  readonly stderr: string[];
  readonly result: PromiseSettledResult<T>;
}

function sink(into: string[]): typeof process.stdout.write {
  return ((chunk: string | Uint8Array) => {
    into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
}

/**
 * Runs `fn` with process.stdout writes captured (and process.stderr's with `stderr: true`),
 * one array entry per write call, so a test can check that exactly one line was written.
 */
export async function captureOutput<T>(
  fn: () => Promise<T>,
  options: { stderr?: boolean } = {},
): Promise<CapturedOutput<T>> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = sink(stdout);
  if (options.stderr === true) process.stderr.write = sink(stderr);
  try {
    const [result] = await Promise.allSettled([fn()]);
    if (result === undefined) throw new Error("Promise.allSettled returned no result");
    return { stdout, stderr, result };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}
