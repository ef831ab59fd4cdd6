/**
 * The uploads `npm run bench:upload` (bench/upload.ts) times, each checked for its bytes and
 * part count and its object deleted afterwards: the bundled handler in a child process (cold
 * then warm invocation), `aws s3 cp` of a file, and the handler on the local Lambda runtime
 * under a CPU quota.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { MIB } from "../core/constants";
import { HANDLER_BUNDLE } from "../core/paths";
import { randomStream } from "../handlers/generators";
import type { LambdaRuntime } from "../local/lambda/runtime";

/** The AWS CLI the benchmark compares against (Debian's, not a pip `aws` on PATH). */
export const AWS_CLI = "/usr/bin/aws";

/** What every upload of one benchmark run shares. */
export interface UploadBench {
  readonly objectMb: number;
  /** The handler's MEMORY_MB in the child process (no CPU limit). */
  readonly memoryMb: number;
  readonly s3: S3Client;
  readonly endpoint: string;
  readonly bucket: string;
  /** The environment of the handler and the CLI: credentials, region, OUTPUT_BUCKET, S3_ENDPOINT. */
  readonly env: Readonly<Record<string, string>>;
  /** A scratch directory, and in it the file `aws s3 cp` uploads ({@link writeSource}). */
  readonly dir: string;
  readonly source: string;
}

/** Speed in MB/s (10^6 bytes), the unit the seed and the report use. */
export const mbps = (bytes: number, seconds: number): number => bytes / seconds / 1e6;

/** Runs a program to its end; its stderr and wall time, ms. */
export function run(file: string, args: readonly string[], env: Record<string, string>) {
  const start = performance.now();
  return new Promise<{ stderr: string; ms: number }>((resolve, reject) => {
    execFile(file, [...args], { env, maxBuffer: 16 * MIB }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve({ stderr, ms: performance.now() - start });
    });
  });
}

/** Writes the file `aws s3 cp` uploads: `bytes` random bytes. */
export async function writeSource(file: string, bytes: number): Promise<void> {
  const sink = createWriteStream(file);
  for await (const chunk of randomStream(bytes, 8 * MIB)) {
    if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
  }
  await new Promise<void>((ok, fail) => sink.end((e?: Error | null) => (e ? fail(e) : ok())));
}

interface HandlerResponse {
  latency_ms: number;
  s3_key: string;
  object_bytes: number;
  multipart_parts: number;
}

/** Checks a handler response for the object's bytes and part count, then deletes the object. */
async function settle(b: UploadBench, r: HandlerResponse, partMb: number): Promise<void> {
  if (r.object_bytes !== b.objectMb * MIB) {
    throw new Error(`handler wrote ${r.object_bytes} bytes, want ${b.objectMb * MIB}`);
  }
  // lib-storage sends an object of one part as one PutObject: 0 multipart parts.
  const n = Math.ceil(b.objectMb / partMb);
  if (r.multipart_parts !== (n === 1 ? 0 : n)) {
    throw new Error(`handler uploaded ${r.multipart_parts} parts, want ${n === 1 ? 0 : n}`);
  }
  await b.s3.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: r.s3_key }));
}

/** The handler's settings for a batch cell of `partMb` parts. */
function batchEnv(b: UploadBench, memoryMb: number, partMb: number): Record<string, string> {
  return {
    ...b.env,
    WORKLOAD: "batch",
    MEMORY_MB: String(memoryMb),
    MULTIPART_MB: String(partMb),
    OBJECT_MB: String(b.objectMb),
  };
}

// The child loads the bundle as the local runtime does, invokes it cold then warm, and reports
// each invocation's CPU (process-wide, all threads) and the process's peak RSS.
const CHILD = `
const { handler } = require(process.env.BENCH_BUNDLE);
(async () => {
  const runs = [];
  for (const id of ["cold", "warm"]) {
    const before = process.cpuUsage();
    const response = await handler({}, { functionName: "bench-upload", awsRequestId: id });
    const cpu = process.cpuUsage(before);
    runs.push({ response, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  process.stderr.write(JSON.stringify({ runs, maxRssKb: process.resourceUsage().maxRSS }) + "\\n");
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\\n"); process.exitCode = 1; });
`;

/** One child process of the handler: its warm upload time and both invocations' CPU. */
export interface HandlerRun {
  /** The warm invocation's upload time, s. */
  readonly seconds: number;
  readonly coldCpuMs: number;
  readonly warmCpuMs: number;
  readonly maxRssMib: number;
}

/** The bundled handler in a child process without a CPU limit, invoked cold then warm. */
export async function handlerUpload(b: UploadBench, partMb: number): Promise<HandlerRun> {
  const { stderr } = await run(process.execPath, ["-e", CHILD], {
    ...batchEnv(b, b.memoryMb, partMb),
    BENCH_BUNDLE: HANDLER_BUNDLE,
  });
  type Out = { runs: { response: HandlerResponse; cpuMs: number }[]; maxRssKb: number };
  const out = JSON.parse(stderr.trim().split("\n").pop() ?? "") as Out;
  for (const r of out.runs) await settle(b, r.response, partMb);
  const [cold, warm] = out.runs;
  if (cold === undefined || warm === undefined) throw new Error("the child reported no runs");
  return {
    seconds: warm.response.latency_ms / 1000,
    coldCpuMs: cold.cpuMs,
    warmCpuMs: warm.cpuMs,
    maxRssMib: out.maxRssKb / 1024,
  };
}

/** `aws s3 cp` of the source file with `partMb` parts; its wall time, s. */
export async function cliUpload(b: UploadBench, partMb: number, rep: number): Promise<number> {
  const config = join(b.dir, `aws-config-${partMb}`);
  const chunks = `multipart_chunksize = ${partMb}MB\n  multipart_threshold = ${partMb}MB`;
  await writeFile(config, `[default]\ns3 =\n  ${chunks}\n  addressing_style = path\n`);
  const key = `cli/${partMb}mb/${rep}.bin`;
  const args = ["s3", "cp", b.source, `s3://${b.bucket}/${key}`, "--endpoint-url", b.endpoint];
  const env = { ...b.env, AWS_CONFIG_FILE: config };
  const cli = await run(AWS_CLI, [...args, "--only-show-errors"], env);
  const head = await b.s3.send(new HeadObjectCommand({ Bucket: b.bucket, Key: key }));
  if (head.ContentLength !== b.objectMb * MIB) {
    throw new Error(`aws s3 cp wrote ${head.ContentLength} bytes`);
  }
  const parts = Math.ceil(b.objectMb / partMb);
  if (!head.ETag?.endsWith(`-${parts}"`)) {
    throw new Error(`aws s3 cp ETag ${head.ETag}: want ${parts} parts`);
  }
  await b.s3.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: key }));
  return cli.ms / 1000;
}

/**
 * The handler's best MB/s of `reps` invocations (the first one cold) of one function on the
 * local Lambda runtime, whose environment runs under the CPU quota of `memoryMb`.
 */
export async function quotaUpload(
  b: UploadBench,
  rt: LambdaRuntime,
  memoryMb: number,
  partMb: number,
  reps: number,
): Promise<number> {
  const lambda = new LambdaClient({
    endpoint: rt.endpoint,
    region: rt.region,
    maxAttempts: 1,
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
  });
  const name = `bench-upload-${partMb}`;
  await rt.createFunction({
    functionName: name,
    memoryMb,
    timeoutSeconds: 900,
    bundlePath: HANDLER_BUNDLE,
    environment: batchEnv(b, memoryMb, partMb),
  });
  try {
    let best = 0;
    for (let rep = 0; rep < reps; rep++) {
      const res = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: "{}" }));
      const body = Buffer.from(res.Payload ?? []).toString("utf8");
      if (res.FunctionError !== undefined) throw new Error(`${name} failed: ${body}`);
      const r = JSON.parse(body) as HandlerResponse;
      await settle(b, r, partMb);
      best = Math.max(best, mbps(r.object_bytes, r.latency_ms / 1000));
    }
    return best;
  } finally {
    lambda.destroy();
    await rt.deleteFunction(name);
  }
}
