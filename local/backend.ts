import { join } from "node:path";
import { DEFAULT_NETWORK, type NetworkEmulation } from "./lambda/network";
import { type LambdaRuntime, startLambdaRuntime } from "./lambda/runtime";
import { type LogsFaults, type LogsServer, startLogsServer } from "./logs";
import { type S3Server, startS3Server } from "./s3/server";

/**
 * The embedded default backend: the local S3 server, the local Lambda runtime and the
 * CloudWatch Logs API over the runtime's log store.
 */
export interface LocalBackend {
  s3: S3Server;
  runtime: LambdaRuntime;
  logs: LogsServer;
  /** Stops the runtime (every environment), then the Logs and S3 servers; idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startLocalBackend}. */
export interface LocalBackendOptions {
  /** Root of the backend's state: S3 data in `<dataDir>/s3`, function logs in `<dataDir>/logs`. */
  dataDir: string;
  /** The S3 server's data elsewhere (e.g. in memory); default `<dataDir>/s3`. */
  s3DataDir?: string;
  /** Concurrency of the unreserved pool (see DEFAULT_ACCOUNT_CONCURRENCY). */
  accountConcurrency?: number;
  /** "auto" puts environments under CPU cgroups where the machine allows it. */
  cpuScaling?: "auto" | "off";
  /**
   * Lambda's network to S3 per environment (bandwidth ceiling, per-request latency); default
   * {@link DEFAULT_NETWORK}; "off" connects the functions to the S3 server directly.
   */
  network?: NetworkEmulation | "off";
  /** Fixed ports on 127.0.0.1 (serve mode); default any free port. */
  s3Port?: number;
  lambdaPort?: number;
  logsPort?: number;
  /** Faults of the CloudWatch Logs server (tests); none by default. */
  logsFaults?: LogsFaults;
}

/**
 * Starts what `--backend local` and serve mode use. The log store lives under `dataDir`, so the
 * harvester can read it after the backend has stopped.
 */
export async function startLocalBackend(options: LocalBackendOptions): Promise<LocalBackend> {
  const s3 = await startS3Server({
    dataDir: options.s3DataDir ?? join(options.dataDir, "s3"),
    ...(options.s3Port === undefined ? {} : { port: options.s3Port }),
  });
  let runtime: LambdaRuntime;
  try {
    runtime = await startLambdaRuntime({
      logDir: join(options.dataDir, "logs"),
      region: s3.region,
      ...(options.accountConcurrency === undefined
        ? {}
        : { accountConcurrency: options.accountConcurrency }),
      ...(options.cpuScaling === undefined ? {} : { cpuScaling: options.cpuScaling }),
      ...(options.lambdaPort === undefined ? {} : { port: options.lambdaPort }),
      ...(options.network === "off" ? {} : { network: options.network ?? DEFAULT_NETWORK }),
    });
  } catch (e: unknown) {
    await s3.stop();
    throw e;
  }
  let logs: LogsServer;
  try {
    logs = await startLogsServer({
      logDir: join(options.dataDir, "logs"),
      region: runtime.region,
      ...(options.logsPort === undefined ? {} : { port: options.logsPort }),
      ...(options.logsFaults === undefined ? {} : { faults: options.logsFaults }),
    });
  } catch (e: unknown) {
    await runtime.stop();
    await s3.stop();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    s3,
    runtime,
    logs,
    stop() {
      stopping ??= (async () => {
        try {
          await runtime.stop();
        } finally {
          try {
            await logs.stop();
          } finally {
            await s3.stop();
          }
        }
      })();
      return stopping;
    },
  };
}
