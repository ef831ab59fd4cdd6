/**
 * `npm run s3:local`: runs the local S3 server in the foreground, prints its endpoint and
 * credentials, and shuts down cleanly on SIGINT/SIGTERM/SIGHUP.
 */
import { resolve } from "node:path";
import { type FlagSpecs, parseFlags } from "../../core/cli";
import { makeDirectory } from "../../core/dirs";
import { InvalidInputError, isInvalidInputError, parseIntInRange } from "../../core/errors";
import { DEFAULT_S3_CREDENTIALS, type S3Server, startS3Server } from "./server";

const USAGE = `Usage: npm run s3:local -- [--port N] [--data-dir DIR]

Runs the local S3-compatible server on 127.0.0.1 in the foreground until Ctrl-C.

  --port N         port to listen on (default 9000; 0 picks a free port)
  --data-dir DIR   where buckets and objects are stored (default .s3-local in the current
                   directory); objects survive a restart
  -h, --help       show this help

Credentials: access key ${DEFAULT_S3_CREDENTIALS.accessKeyId}, secret ${DEFAULT_S3_CREDENTIALS.secretAccessKey}, region us-east-1.
`;

/** Parsed command line of the CLI. */
export interface CliOptions {
  port: number;
  dataDir: string;
  help: boolean;
}

const FLAGS = {
  port: { type: "string" },
  "data-dir": { type: "string" },
} as const satisfies FlagSpecs;

/** Parses the flags; bad input throws InvalidInputError naming flag, value and what is allowed. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const parsed = parseFlags(argv, FLAGS);
  const options: CliOptions = { port: 9000, dataDir: resolve(".s3-local"), help: parsed.help };
  if (parsed.help) return options;
  const { port, "data-dir": dir } = parsed.values;
  if (port !== undefined) options.port = parseIntInRange("--port", port, 0, 65535);
  if (dir !== undefined) {
    if (dir === "") throw new InvalidInputError("--data-dir", dir, "a directory path");
    options.dataDir = resolve(dir);
  }
  return options;
}

/** What to print once the server listens. */
export function banner(server: S3Server): string {
  const { accessKeyId, secretAccessKey } = server.credentials;
  return [
    `local S3 server listening on ${server.endpoint} (data in ${server.dataDir})`,
    `  region:            ${server.region}`,
    `  access key id:     ${accessKeyId}`,
    `  secret access key: ${secretAccessKey}`,
    "try:",
    `  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} AWS_DEFAULT_REGION=${server.region} \\`,
    `    aws --endpoint-url ${server.endpoint} s3 mb s3://my-bucket`,
    "Ctrl-C to stop.",
  ].join("\n");
}

/** Runs the server until SIGINT/SIGTERM; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (e: unknown) {
    if (isInvalidInputError(e)) {
      process.stderr.write(`s3:local: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    // Made level by level: a recursive mkdir spins forever on procfs (--data-dir /proc/x).
    makeDirectory("--data-dir", options.dataDir);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    process.stderr.write(`s3:local: ${e.message}\n`);
    return 2;
  }
  let server: S3Server;
  try {
    server = await startS3Server({ port: options.port, dataDir: options.dataDir });
  } catch (e: unknown) {
    process.stderr.write(`s3:local: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  process.stdout.write(`${banner(server)}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal("SIGINT"));
    process.once("SIGTERM", () => resolveSignal("SIGTERM"));
    process.once("SIGHUP", () => resolveSignal("SIGHUP"));
  });
  process.stdout.write(`s3:local: ${signal}, shutting down\n`);
  await server.stop();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(
        `s3:local: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
