/**
 * Points Debian's real S3 clients (aws-cli, s3cmd) at an endpoint with given credentials,
 * isolated from the user's own configuration: a temp HOME, a temp aws config file, no shared
 * credentials file and a temp s3cmd config. Nothing under the real ~/.aws or ~/.s3cfg is read.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's aws-cli v2 (not the unrelated pip `aws` that may be first on PATH). */
export const AWS_CLI = "/usr/bin/aws";
/** Debian's s3cmd. */
export const S3CMD = "/usr/bin/s3cmd";

/** Where the clients should go and how they sign. */
export interface S3Target {
  endpoint: string;
  region?: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Environment and leading arguments for each client; `cleanup()` removes the temp files. */
export interface RealClients {
  aws: { env: NodeJS.ProcessEnv; args: string[] };
  s3cmd: { env: NodeJS.ProcessEnv; args: string[] };
  /** The temp directory holding HOME and the config files. */
  dir: string;
  cleanup(): void;
}

/** Options of {@link realClients}. */
export interface RealClientOptions {
  /** Extra `s3 =` settings for aws-cli, e.g. { multipart_chunksize: "8MB" }. */
  awsS3Settings?: Record<string, string>;
}

/** Variables of the caller's environment that could redirect or re-configure the clients. */
const DROPPED_ENV = /^(AWS_|BOTO_|S3CMD|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$)/;

function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!DROPPED_ENV.test(name)) env[name] = value;
  }
  env.HOME = home;
  return env;
}

/** Builds isolated configurations of aws-cli and s3cmd for one endpoint. */
export function realClients(target: S3Target, options: RealClientOptions = {}): RealClients {
  const dir = mkdtempSync(join(tmpdir(), "s3-real-clients-"));
  const region = target.region ?? "us-east-1";
  const url = new URL(target.endpoint);

  const awsConfig = join(dir, "aws-config");
  const s3Settings = { addressing_style: "path", ...options.awsS3Settings };
  writeFileSync(
    awsConfig,
    [
      "[default]",
      `region = ${region}`,
      "s3 =",
      ...Object.entries(s3Settings).map(([k, v]) => `  ${k} = ${v}`),
      "",
    ].join("\n"),
  );
  const awsEnv = baseEnv(dir);
  Object.assign(awsEnv, {
    AWS_CONFIG_FILE: awsConfig,
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  });

  const s3cfg = join(dir, "s3cfg");
  writeFileSync(
    s3cfg,
    [
      "[default]",
      `access_key = ${target.credentials.accessKeyId}`,
      `secret_key = ${target.credentials.secretAccessKey}`,
      `host_base = ${url.host}`,
      // No %(bucket)s: path-style requests.
      `host_bucket = ${url.host}`,
      `bucket_location = ${region}`,
      "use_https = False",
      "signature_v2 = False",
      "progress_meter = False",
      "",
    ].join("\n"),
  );

  return {
    aws: { env: awsEnv, args: ["--endpoint-url", target.endpoint, "--no-cli-pager"] },
    s3cmd: { env: baseEnv(dir), args: ["-c", s3cfg] },
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The outcome of one client run. */
export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion (never rejects on a non-zero exit: the caller asserts). */
export function runClient(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}
