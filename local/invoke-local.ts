/**
 * `npm run invoke:local -- --workload events --batch-events 10`: runs the bundled handler
 * once against an S3-compatible endpoint and prints its EMF line and response (the seed's
 * `python handler.py`). With `S3_ENDPOINT` unset it starts the local S3 server in a
 * temporary directory, creates the bucket and stops the server afterwards; with it set, the
 * bucket must exist and credentials come from the environment.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlagSpecs, parseFlags as parseCli } from "../core/cli";
import { InvalidInputError, isInvalidInputError } from "../core/errors";
import { RUN_ID_INPUT_ALLOWED, RUN_ID_INPUT_PATTERN } from "../core/names";
import { HANDLER_BUNDLE, HANDLER_EXPORT } from "../core/paths";
import { parseRegion } from "../core/region";
import { WORKLOADS, workloadSpec } from "../core/workloads";
import { readSettings } from "../handlers/settings";
import type { S3Server } from "./s3/server";

/** Flag → handler environment variable, with the default used when the flag is absent. */
const FLAGS = {
  workload: { env: "WORKLOAD", default: "events" },
  "memory-mb": { env: "MEMORY_MB", default: "512" },
  "batch-events": { env: "BATCH_EVENTS", default: "10" },
  "event-bytes": { env: "EVENT_BYTES", default: "1024" },
  "multipart-mb": { env: "MULTIPART_MB", default: "8" },
  "object-mb": { env: "OBJECT_MB", default: "100" },
  "reserved-concurrency": { env: "RESERVED_CONCURRENCY", default: "0" },
  bucket: { env: "OUTPUT_BUCKET", default: "s3x-invoke-local" },
  "name-prefix": { env: "NAME_PREFIX", default: "" },
} as const;

type Flag = keyof typeof FLAGS;

/** The usage text of `--help`. */
export const USAGE = `Usage: npm run invoke:local -- [flags]

Runs the Lambda handler (dist/handler.js) once and prints its EMF line and response.
Starts the local S3 server when S3_ENDPOINT is unset.

Flags (default in brackets):
  --workload events|batch        [events]
  --memory-mb N                  MEMORY_MB [512]
  --batch-events N               BATCH_EVENTS, events workload [10]
  --event-bytes N                EVENT_BYTES, 256-8192 [1024]
  --multipart-mb N               MULTIPART_MB, batch workload, >= 5 [8]
  --object-mb N                  OBJECT_MB, batch workload [100]
  --reserved-concurrency N       RESERVED_CONCURRENCY (recorded only) [0]
  --bucket NAME                  OUTPUT_BUCKET [s3x-invoke-local]
  --name-prefix PREFIX           NAME_PREFIX []
  --run-id ID                    run_id of the event, 1-128 of A-Z a-z 0-9 . _ - [generated]
  -h, --help                     this text

Exit status: 0 success, 1 the invocation failed, 2 bad flags.
`;

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

function loadHandler(): Handler {
  if (!existsSync(HANDLER_BUNDLE))
    throw new Error(`${HANDLER_BUNDLE} is missing: run npm run build`);
  const mod: unknown = require(HANDLER_BUNDLE);
  const fn =
    typeof mod === "object" && mod !== null
      ? (mod as Record<string, unknown>)[HANDLER_EXPORT]
      : undefined;
  if (typeof fn !== "function")
    throw new Error(`${HANDLER_BUNDLE} does not export ${HANDLER_EXPORT}`);
  return fn as Handler;
}

/** The flags for {@link parseFlags}: each handler variable's, and the event's run id. */
const SPECS = {
  ...(Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" }])) as Record<
    Flag,
    { readonly type: "string" }
  >),
  "run-id": { type: "string" },
} as const satisfies FlagSpecs;

/**
 * A flag the user set that only another workload reads (`--multipart-mb` with `--workload
 * events`) would be ignored without a word: refused, naming the workload that reads it.
 */
function refuseOtherWorkloadFlags(
  values: Readonly<Partial<Record<Flag, string>>>,
  workload: string | undefined,
): void {
  for (const [flag, spec] of Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]) {
    const value = values[flag];
    if (value === undefined) continue;
    const readers = WORKLOADS.filter((w) => {
      const row = workloadSpec(w);
      return row.factor.env === spec.env || row.setting.env === spec.env;
    });
    if (readers.length === 0 || readers.some((w) => w === workload)) continue;
    throw new InvalidInputError(
      `--${flag}`,
      value,
      `only with --workload ${readers.join(" or ")} (this is --workload ${workload})`,
    );
  }
}

/**
 * Parses the flags into the handler's environment and event; bad flags throw
 * InvalidInputError naming the flag (or, with `S3_ENDPOINT` set, the `AWS_REGION` the
 * handler will read from `env`).
 */
export function parseFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): {
  help: boolean;
  env: Record<string, string>;
  runId?: string;
} {
  const parsed = parseCli(argv, SPECS);
  if (parsed.help) return { help: true, env: {} };
  const values = parsed.values;
  const handlerEnv: Record<string, string> = {};
  for (const [flag, spec] of Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]) {
    handlerEnv[spec.env] = values[flag] ?? spec.default;
  }
  if (handlerEnv.NAME_PREFIX === "") delete handlerEnv.NAME_PREFIX;
  // Validate with the handler's own rules, reported under the flag's name.
  try {
    readSettings(handlerEnv);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    const flag = (Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]).find(
      ([, s]) => s.env === e.input,
    )?.[0];
    throw new InvalidInputError(flag === undefined ? e.input : `--${flag}`, e.value, e.allowed);
  }
  refuseOtherWorkloadFlags(values, handlerEnv.WORKLOAD);
  // Without S3_ENDPOINT the local server sets the region; with it, the handler reads AWS_REGION.
  if (env.S3_ENDPOINT && env.AWS_REGION) parseRegion("AWS_REGION", env.AWS_REGION);
  const runId = values["run-id"];
  if (runId !== undefined && !RUN_ID_INPUT_PATTERN.test(runId)) {
    throw new InvalidInputError("--run-id", runId, RUN_ID_INPUT_ALLOWED);
  }
  return { help: false, env: handlerEnv, ...(runId === undefined ? {} : { runId }) };
}

async function createBucket(
  endpoint: string,
  region: string,
  bucket: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<void> {
  const { CreateBucketCommand, S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e: unknown) {
    if (!(e instanceof Error && e.name === "BucketAlreadyOwnedByYou")) throw e;
  } finally {
    client.destroy();
  }
}

/** Runs the handler once; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    process.stderr.write(`invoke-local: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const saved = { ...process.env };
  let dataDir: string | undefined;
  let server: S3Server | undefined;
  try {
    const handler = loadHandler();
    Object.assign(process.env, flags.env);
    if (!process.env.S3_ENDPOINT) {
      dataDir = await mkdtemp(join(tmpdir(), "s3x-invoke-local-"));
      // Loaded here, not at the top: --help and bad flags answer without the S3 server and SDK.
      const { startS3Server } = await import("./s3/server");
      server = await startS3Server({ dataDir, port: 0 });
      process.env.S3_ENDPOINT = server.endpoint;
      process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
      process.env.AWS_REGION = server.region;
      await createBucket(
        server.endpoint,
        server.region,
        flags.env.OUTPUT_BUCKET ?? "",
        server.credentials,
      );
      process.stderr.write(
        `invoke-local: local S3 server at ${server.endpoint} (data in ${dataDir})\n`,
      );
    }
    // An unknown workload gets the events timeout: the handler rejects it before any S3 call.
    const workload = WORKLOADS.find((w) => w === flags.env.WORKLOAD) ?? "events";
    const timeoutMs = workloadSpec(workload).timeoutSeconds * 1000;
    const started = Date.now();
    const context = {
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    };
    // The handler writes the EMF line to stdout itself; the response follows it.
    const response = await handler(
      flags.runId === undefined ? {} : { run_id: flags.runId },
      context,
    );
    process.stdout.write(`${JSON.stringify(response)}\n`);
    return 0;
  } catch (e: unknown) {
    process.stderr.write(
      `invoke-local: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`,
    );
    return 1;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await server?.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2))
    .catch((e: unknown) => {
      process.stderr.write(
        `invoke-local: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      return 1;
    })
    .then((code) => process.exit(code));
}
