/**
 * Serve mode: `npx ts-node local/serve.ts --matrix full` starts the local S3 server, the local
 * Lambda runtime and the CloudWatch Logs API over its logs, deploys the cells of the matrix (a
 * bucket and a function each), prints how to reach them and runs until SIGINT/SIGTERM/SIGHUP,
 * then destroys everything and stops.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Cell, DEFAULT_CELL_SETTINGS } from "../core/cell";
import { type FlagSpecs, parseFlags } from "../core/cli";
import type { DeployedCell } from "../core/deployer";
import { makeDirectory } from "../core/dirs";
import {
  InvalidInputError,
  isInvalidInputError,
  parseIntInRange,
  parseOneOf,
} from "../core/errors";
import { MATRIX_SYNTAX, parseMatrix } from "../core/matrix";
import { parseNamePrefix } from "../core/names";
import type { LocalBackend } from "./backend";
import type { LocalDeployer } from "./deployer";

/** What `--help` prints. */
export const USAGE = `Usage: npx ts-node local/serve.ts [options]

Starts the embedded local backend (S3 server + Lambda runtime + CloudWatch Logs), deploys the cells of a matrix and
serves them until Ctrl-C (SIGINT), SIGTERM or SIGHUP; then destroys every function and bucket and stops.

Options:
  --matrix SPEC               cells to deploy (default: full): ${MATRIX_SYNTAX}
  --data-dir DIR              S3 data and function logs (default: a temp dir, removed on exit)
  --port N                    Lambda endpoint port on 127.0.0.1 (default: any free port)
  --s3-port N                 S3 endpoint port on 127.0.0.1 (default: any free port)
  --logs-port N               CloudWatch Logs endpoint port on 127.0.0.1 (default: any free port)
  --account-concurrency N     concurrency shared by unreserved functions (default: 100)
  --cpu-scaling auto|off      CPU cgroups of memory/1769 vCPU per environment (default: auto)
  --name-prefix P             NAME_PREFIX of the function names: letters, digits, - and _ (default: none)
  -h, --help                  this text
`;

/** Parsed serve-mode flags. */
export interface ServeOptions {
  readonly cells: Cell[];
  readonly dataDir?: string;
  readonly port?: number;
  readonly s3Port?: number;
  readonly logsPort?: number;
  readonly accountConcurrency?: number;
  readonly cpuScaling: "auto" | "off";
  readonly namePrefix: string;
}

const FLAGS = {
  matrix: { type: "string" },
  "data-dir": { type: "string" },
  port: { type: "string" },
  "s3-port": { type: "string" },
  "logs-port": { type: "string" },
  "account-concurrency": { type: "string" },
  "cpu-scaling": { type: "string" },
  "name-prefix": { type: "string" },
} as const satisfies FlagSpecs;

/** Parses argv (without node and script); throws InvalidInputError naming the flag. */
export function parseServeArgs(argv: readonly string[]): ServeOptions | "help" {
  const parsed = parseFlags(argv, FLAGS);
  if (parsed.help) return "help";
  const v = parsed.values;
  const port = (flag: "port" | "s3-port" | "logs-port") => {
    const raw = v[flag];
    return raw === undefined ? undefined : parseIntInRange(`--${flag}`, raw, 0, 65535);
  };
  const concurrency = v["account-concurrency"];
  const dataDir = v["data-dir"];
  if (dataDir === "") throw new InvalidInputError("--data-dir", dataDir, "a directory path");
  return {
    cells: parseMatrix(v.matrix ?? "full", "--matrix"),
    ...(dataDir === undefined ? {} : { dataDir: resolve(dataDir) }),
    ...(port("port") === undefined ? {} : { port: port("port") }),
    ...(port("s3-port") === undefined ? {} : { s3Port: port("s3-port") }),
    ...(port("logs-port") === undefined ? {} : { logsPort: port("logs-port") }),
    ...(concurrency === undefined
      ? {}
      : { accountConcurrency: parseIntInRange("--account-concurrency", concurrency, 1, 10_000) }),
    cpuScaling: parseOneOf("--cpu-scaling", v["cpu-scaling"] ?? "auto", ["auto", "off"]),
    // Serve mode names functions without a run tag.
    namePrefix: parseNamePrefix("--name-prefix", v["name-prefix"] ?? "", false),
  };
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Resolves on the first SIGINT, SIGTERM or SIGHUP (a closed terminal tears down too). */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const on = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, on);
      done(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, on);
  });
}

function describe(
  backend: LocalBackend,
  deployed: readonly DeployedCell[],
  dataDir: string,
): string {
  const { s3, runtime, logs } = backend;
  const first = deployed[0];
  const lines = [
    "Local backend is serving.",
    `  Lambda endpoint: ${runtime.endpoint}`,
    `  S3 endpoint:     ${s3.endpoint}`,
    `  Logs endpoint:   ${logs.endpoint} (CloudWatch Logs: FilterLogEvents, Logs Insights, Describe*)`,
    `  Region:          ${runtime.region}`,
    `  Credentials:     AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`,
    `  CPU scaling:     ${runtime.cpuScalingEmulated ? "emulated (cgroup CFS quota, memory/1769 vCPU)" : "not emulated"}`,
    `  Data dir:        ${dataDir}`,
    `  Functions (${deployed.length}; bucket after the arrow):`,
    ...deployed.map((d) => `    ${d.functionName} -> ${d.bucket}`),
  ];
  if (first !== undefined) {
    // fileb:// sends the file's bytes as they are in both AWS CLI v1 and v2 (an inline
    // --payload is base64 in v2 unless --cli-binary-format raw-in-base64-out, which v1 rejects).
    lines.push(
      "Example (AWS CLI v1 or v2):",
      `  printf '%s' '{"run_id":"run_0000000000000_serve0"}' > event.json`,
      `  AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey} ` +
        `AWS_REGION=${runtime.region} aws lambda invoke --endpoint-url ${runtime.endpoint} ` +
        `--function-name ${first.functionName} --payload fileb://event.json ` +
        "--log-type Tail --query LogResult --output text out.json | base64 -d",
      `  AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey} ` +
        `AWS_REGION=${runtime.region} aws s3 ls --endpoint-url ${s3.endpoint} s3://${first.bucket} --recursive`,
      `  AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey} ` +
        `AWS_REGION=${runtime.region} aws logs filter-log-events --endpoint-url ${logs.endpoint} ` +
        `--log-group-name ${first.logGroup} --filter-pattern '"run_0000000000000_serve0"'`,
    );
  }
  lines.push("Press Ctrl-C to destroy everything and stop.");
  return `${lines.join("\n")}\n`;
}

/** Serve mode; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: ServeOptions;
  try {
    const parsed = parseServeArgs(argv);
    if (parsed === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    options = parsed;
    // Before anything starts, one level at a time: Node's recursive mkdir (the log store's)
    // spins forever on procfs, so --data-dir /proc/x never answered.
    if (options.dataDir !== undefined) makeDirectory("--data-dir", options.dataDir);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    process.stderr.write(`serve: ${e.message}\n(see --help)\n`);
    return 2;
  }

  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "s3x-serve-"));
  const signal = untilSignal();
  let backend: LocalBackend | undefined;
  let deployer: LocalDeployer | undefined;
  const live: Cell[] = [];
  let code = 0;
  try {
    // Loaded after the flags: --help and bad flags answer without the whole backend.
    const { startLocalBackend } = await import("./backend");
    const { LocalDeployer } = await import("./deployer");
    backend = await startLocalBackend({
      dataDir,
      cpuScaling: options.cpuScaling,
      ...(options.accountConcurrency === undefined
        ? {}
        : { accountConcurrency: options.accountConcurrency }),
      ...(options.port === undefined ? {} : { lambdaPort: options.port }),
      ...(options.s3Port === undefined ? {} : { s3Port: options.s3Port }),
      ...(options.logsPort === undefined ? {} : { logsPort: options.logsPort }),
    });
    deployer = new LocalDeployer(backend, {
      ...DEFAULT_CELL_SETTINGS,
      namePrefix: options.namePrefix,
      region: backend.runtime.region,
    });
    await deployer.prepare(options.cells);
    const deployed: DeployedCell[] = [];
    for (const cell of options.cells) {
      live.push(cell);
      deployed.push(await deployer.deploy(cell));
    }
    process.stdout.write(describe(backend, deployed, dataDir));
    const received = await signal;
    process.stdout.write(`\n${received}: destroying ${live.length} cells and stopping...\n`);
  } catch (e: unknown) {
    process.stderr.write(`serve: ${e instanceof Error ? e.message : String(e)}\n`);
    code = isInvalidInputError(e) ? 2 : 1;
  } finally {
    for (const cell of live) {
      try {
        await deployer?.destroy(cell);
      } catch (e: unknown) {
        process.stderr.write(
          `serve: destroy failed: ${e instanceof Error ? e.message : String(e)}\n`,
        );
        code = 1;
      }
    }
    await deployer?.close();
    await backend?.stop();
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  if (code === 0) process.stdout.write("Stopped.\n");
  return code;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
