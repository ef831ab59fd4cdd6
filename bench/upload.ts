/**
 * `npm run bench:upload`: the handler's batch upload (lib-storage's `Upload`, parts as
 * UNSIGNED-PAYLOAD with a signed CRC32) against the AWS CLI on the same local S3 server, side
 * by side in one run. For each part size (8, 32, 64 MiB) it uploads an OBJECT_MB object with
 * the bundled handler (a child process, MEMORY_MB=512, no CPU limit) and with
 * `/usr/bin/aws s3 cp` of a file of the same size and `multipart_chunksize`, and reports MB/s
 * and their ratio, the handler's client CPU per 100 MiB (all its threads, generating the bytes
 * included) and its peak RSS; then the handler's MB/s on the local Lambda runtime under the
 * CPU quota of its memory (512 MB: 512/1769 of a core, cgroup.ts), and the load average.
 * Goals: ratio ≥ 1.2 per part size, client CPU ≤ 70 ms per 100 MiB, ≥ 117 MB/s under the
 * 512 MB quota (1.5 × Lambda's ≈ 78 MB/s, so that on Lambda the network binds, not the CPU),
 * peak RSS under MEMORY_MB.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type FlagSpecs, parseFlags } from "../core/cli";
import { MIB } from "../core/constants";
import { isInvalidInputError, parseIntInRange } from "../core/errors";
import { HANDLER_BUNDLE } from "../core/paths";
import { fillRandom, randomStream } from "../handlers/generators";
import { CFS_PERIOD_US, cpuQuotaUs } from "../local/lambda/cgroup";
import { startLambdaRuntime } from "../local/lambda/runtime";
import { startS3Server } from "../local/s3/server";

/** The AWS CLI the benchmark compares against (Debian's, not a pip `aws` on PATH). */
export const AWS_CLI = "/usr/bin/aws";

/** Part sizes compared, MiB: the experiment's levels. */
export const PART_SIZES_MIB = [8, 32, 64] as const;

/** Goals of the benchmark (issue 13). */
export const GOALS = {
  /** handler MB/s ÷ aws s3 cp MB/s, per part size. */
  ratio: 1.2,
  /** The handler's client CPU per 100 MiB uploaded, ms. */
  cpuMsPer100Mib: 70,
  /** MB/s under the CPU quota of 512 MB: 1.5 × Lambda's ≈ 78 MB/s. */
  quotaMbps: 117,
} as const;

/** Memory whose CPU quota the quota run uses, MB (512/1769 ≈ 0.29 of a core). */
export const QUOTA_MEMORY_MB = 512;

const USAGE = `Usage: npm run bench:upload -- [--object-mb N] [--memory-mb N] [--reps N] [--strict]

  --object-mb N   object size, MiB [256]
  --memory-mb N   the handler's MEMORY_MB without a CPU limit [512]
  --reps N        repetitions per tool and part size; the best is kept [2]
  --strict        exit 1 when a goal is missed
  -h, --help      this text
`;

interface Options {
  readonly objectMb: number;
  readonly memoryMb: number;
  readonly reps: number;
  readonly strict: boolean;
}

const FLAGS = {
  "object-mb": { type: "string" },
  "memory-mb": { type: "string" },
  reps: { type: "string" },
  strict: { type: "boolean" },
} as const satisfies FlagSpecs;

/** Parses the flags (exported for tests); bad ones throw InvalidInputError naming the flag. */
export function parseOptions(argv: readonly string[]): Options | "help" {
  const parsed = parseFlags(argv, FLAGS);
  if (parsed.help) return "help";
  const v = parsed.values;
  return {
    objectMb: parseIntInRange("--object-mb", v["object-mb"] ?? "256", 64, 4096),
    memoryMb: parseIntInRange("--memory-mb", v["memory-mb"] ?? "512", 256, 10240),
    reps: parseIntInRange("--reps", v.reps ?? "2", 1, 10),
    strict: v.strict === true,
  };
}

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env, maxBuffer: 16 * MIB }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr, ms: performance.now() - start });
    });
  });
}

/** CPU (all threads) that generating 100 MiB with fillRandom takes, ms. */
async function generatorCpuMsPer100Mib(totalMib: number): Promise<number> {
  const buffer = Buffer.allocUnsafeSlow(MIB);
  await fillRandom(buffer);
  const before = process.cpuUsage();
  for (let done = 0; done < totalMib; done++) await fillRandom(buffer);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000) * (100 / totalMib);
}

// The child loads the bundle exactly as the local runtime does and reports the CPU the
// invocation used (process-wide: the thread pool generating the bytes included) and its peak RSS.
const CHILD = `
const { handler } = require(process.env.BENCH_BUNDLE);
const before = process.cpuUsage();
handler({}, { functionName: "bench-upload", awsRequestId: "bench" }).then((r) => {
  const cpu = process.cpuUsage(before);
  process.stderr.write(JSON.stringify({ response: r, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS }) + "\\n");
}, (e) => { process.stderr.write(String(e && e.stack || e) + "\\n"); process.exitCode = 1; });
`;

interface HandlerResponse {
  latency_ms: number;
  s3_key: string;
  object_bytes: number;
  multipart_parts: number;
}

interface HandlerRun {
  readonly seconds: number;
  readonly key: string;
  readonly cpuMs: number;
  readonly maxRssMib: number;
}

function checkResponse(r: HandlerResponse, o: Options, partMb: number): void {
  if (r.object_bytes !== o.objectMb * MIB) {
    throw new Error(`handler wrote ${r.object_bytes} bytes, want ${o.objectMb * MIB}`);
  }
  // lib-storage sends an object of one part as one PutObject: 0 multipart parts.
  const n = Math.ceil(o.objectMb / partMb);
  const parts = n === 1 ? 0 : n;
  if (r.multipart_parts !== parts) {
    throw new Error(`handler uploaded ${r.multipart_parts} parts, want ${parts}`);
  }
}

async function handlerUpload(
  env: NodeJS.ProcessEnv,
  partMb: number,
  o: Options,
): Promise<HandlerRun> {
  const { stderr } = await run(process.execPath, ["-e", CHILD], {
    ...env,
    BENCH_BUNDLE: HANDLER_BUNDLE,
    WORKLOAD: "batch",
    MEMORY_MB: String(o.memoryMb),
    MULTIPART_MB: String(partMb),
    OBJECT_MB: String(o.objectMb),
  });
  const last = stderr.trim().split("\n").pop() ?? "";
  const out = JSON.parse(last) as { response: HandlerResponse; cpuMs: number; maxRssKb: number };
  checkResponse(out.response, o, partMb);
  return {
    seconds: out.response.latency_ms / 1000,
    key: out.response.s3_key,
    cpuMs: out.cpuMs,
    maxRssMib: out.maxRssKb / 1024,
  };
}

async function cliConfig(dir: string, partMb: number): Promise<string> {
  const file = join(dir, `aws-config-${partMb}`);
  await writeFile(
    file,
    [
      "[default]",
      "s3 =",
      `  multipart_chunksize = ${partMb}MB`,
      `  multipart_threshold = ${partMb}MB`,
      "  addressing_style = path",
      "",
    ].join("\n"),
  );
  return file;
}

/** Speed in MB/s (10^6 bytes), the unit the seed and the report use. */
function mbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

/** 1, 5 and 15 minute load averages: other work on the machine skews every figure. */
const loadavgText = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

/**
 * The handler's MB/s per part size on the local Lambda runtime, each invocation in an
 * environment under the CFS quota of {@link QUOTA_MEMORY_MB}; best of `reps`. Undefined when
 * the runtime cannot set CPU quotas here.
 */
async function quotaRuns(
  env: NodeJS.ProcessEnv,
  o: Options,
  client: S3Client,
  bucket: string,
): Promise<Map<number, number> | undefined> {
  const rt = await startLambdaRuntime({ cpuScaling: "auto" });
  const lambda = new LambdaClient({
    endpoint: rt.endpoint,
    region: rt.region,
    maxAttempts: 1,
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
  });
  try {
    if (!rt.cpuScalingEmulated) return undefined;
    const out = new Map<number, number>();
    for (const partMb of PART_SIZES_MIB) {
      const name = `bench-upload-${partMb}`;
      const environment: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v !== undefined) environment[k] = v;
      await rt.createFunction({
        functionName: name,
        memoryMb: QUOTA_MEMORY_MB,
        timeoutSeconds: 900,
        bundlePath: HANDLER_BUNDLE,
        environment: {
          ...environment,
          WORKLOAD: "batch",
          MEMORY_MB: String(QUOTA_MEMORY_MB),
          MULTIPART_MB: String(partMb),
          OBJECT_MB: String(o.objectMb),
        },
      });
      let best = 0;
      for (let rep = 0; rep < o.reps; rep++) {
        const res = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: "{}" }));
        const body = Buffer.from(res.Payload ?? []).toString("utf8");
        if (res.FunctionError !== undefined) throw new Error(`${name} failed: ${body}`);
        const r = JSON.parse(body) as HandlerResponse;
        checkResponse(r, o, partMb);
        best = Math.max(best, mbps(r.object_bytes, r.latency_ms / 1000));
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: r.s3_key }));
      }
      out.set(partMb, best);
      await rt.deleteFunction(name);
    }
    return out;
  } finally {
    lambda.destroy();
    await rt.stop();
  }
}

/** Runs the benchmark; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let o: Options | "help";
  try {
    o = parseOptions(argv);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    process.stderr.write(`bench-upload: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const opts = o;
  const dir = await mkdtemp(join(tmpdir(), "s3x-bench-upload-"));
  const server = await startS3Server({ dataDir: join(dir, "s3"), port: 0 });
  const bucket = "s3x-bench-upload";
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
  });
  const missed: string[] = [];
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const bytes = opts.objectMb * MIB;
    const source = join(dir, "object.bin");
    const sink = createWriteStream(source);
    for await (const chunk of randomStream(bytes, 8 * MIB)) {
      if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) =>
      sink.end((e?: Error | null) => (e ? reject(e) : resolve())),
    );

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: server.region,
      AWS_DEFAULT_REGION: server.region,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
      OUTPUT_BUCKET: bucket,
      S3_ENDPOINT: server.endpoint,
    };
    // The CLI's interpreter start-up is not upload time: measured once, subtracted.
    const startup = await run(AWS_CLI, ["--version"], { ...env, AWS_CONFIG_FILE: "/dev/null" });
    const startupS = startup.ms / 1000;
    const genCpu = await generatorCpuMsPer100Mib(512);

    process.stdout.write(
      `load average at start: ${loadavgText()} (${availableParallelism()} cores, shared)\n` +
        `object ${opts.objectMb} MiB, local S3 server on loopback (in this process), best of ${opts.reps}; ` +
        `AWS CLI start-up ${startupS.toFixed(2)} s subtracted (raw ratio in brackets)\n` +
        `handler: lib-storage Upload, MEMORY_MB=${opts.memoryMb}, no CPU limit; CPU = all its threads, ` +
        `of which generating the bytes (fillRandom) is ${genCpu.toFixed(0)} ms/100MiB\n`,
    );
    process.stdout.write(
      "part MiB | handler MB/s | aws s3 cp MB/s | ratio       | handler CPU/100MiB | handler peak RSS MiB | load avg\n",
    );
    const rows = [];
    for (const partMb of PART_SIZES_MIB) {
      const config = await cliConfig(dir, partMb);
      let best: HandlerRun | undefined;
      let bestCli = Number.POSITIVE_INFINITY;
      let rss = 0;
      let cpuMs = Number.POSITIVE_INFINITY;
      for (let rep = 0; rep < opts.reps; rep++) {
        const h = await handlerUpload(env, partMb, opts);
        rss = Math.max(rss, h.maxRssMib);
        cpuMs = Math.min(cpuMs, h.cpuMs);
        if (best === undefined || h.seconds < best.seconds) best = h;
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: h.key }));
        const key = `cli/${partMb}mb/${rep}.bin`;
        const cli = await run(
          AWS_CLI,
          [
            "s3",
            "cp",
            source,
            `s3://${bucket}/${key}`,
            "--endpoint-url",
            server.endpoint,
            "--only-show-errors",
          ],
          { ...env, AWS_CONFIG_FILE: config },
        );
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        if (head.ContentLength !== bytes)
          throw new Error(`aws s3 cp wrote ${head.ContentLength} bytes`);
        const expectedParts = Math.ceil(opts.objectMb / partMb);
        if (!head.ETag?.endsWith(`-${expectedParts}"`)) {
          throw new Error(`aws s3 cp ETag ${head.ETag}: want ${expectedParts} parts`);
        }
        bestCli = Math.min(bestCli, cli.ms / 1000);
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
      if (best === undefined) throw new Error("no handler run");
      const handlerMbps = mbps(bytes, best.seconds);
      const cliMbps = mbps(bytes, Math.max(0.001, bestCli - startupS));
      const cliRawMbps = mbps(bytes, bestCli);
      const ratio = handlerMbps / cliMbps;
      const cpuPer100 = cpuMs * (100 / opts.objectMb);
      const load = loadavgText();
      rows.push({
        partMb,
        handlerMbps,
        cliMbps,
        cliRawMbps,
        ratio,
        rawRatio: handlerMbps / cliRawMbps,
        cpuMsPer100Mib: cpuPer100,
        rss,
        load,
      });
      if (ratio < GOALS.ratio) missed.push(`ratio ${partMb} MiB`);
      if (cpuPer100 > GOALS.cpuMsPer100Mib) missed.push(`CPU ${partMb} MiB`);
      if (rss >= opts.memoryMb) missed.push(`RSS ${partMb} MiB`);
      process.stdout.write(
        `${String(partMb).padStart(8)} | ${handlerMbps.toFixed(0).padStart(12)} | ${cliMbps.toFixed(0).padStart(14)} | ` +
          `${ratio.toFixed(2)} (${(handlerMbps / cliRawMbps).toFixed(2)})`.padEnd(11) +
          ` | ${`${cpuPer100.toFixed(0)} ms`.padStart(18)} | ${`${rss.toFixed(0)} of ${opts.memoryMb}`.padStart(20)} | ${load}\n`,
      );
    }

    const quota = cpuQuotaUs(QUOTA_MEMORY_MB) / CFS_PERIOD_US;
    process.stdout.write(
      `\nhandler on the local Lambda runtime, MEMORY_MB=${QUOTA_MEMORY_MB}, CFS quota ${quota.toFixed(2)} of a core, best of ${opts.reps}:\n`,
    );
    const quotaMbps = await quotaRuns(env, opts, client, bucket);
    if (quotaMbps === undefined) {
      process.stdout.write(
        "  no writable CPU cgroup here: the quota cannot be emulated, no figure (goal unchecked)\n",
      );
      missed.push("quota (not measurable)");
    } else {
      for (const [partMb, v] of quotaMbps) {
        process.stdout.write(
          `  ${String(partMb).padStart(2)} MiB parts: ${v.toFixed(0)} MB/s (goal ≥ ${GOALS.quotaMbps}) | load avg ${loadavgText()}\n`,
        );
        if (v < GOALS.quotaMbps) missed.push(`quota ${partMb} MiB`);
      }
    }
    process.stdout.write(`load average at end: ${loadavgText()}\n`);
    process.stdout.write(
      `${JSON.stringify({
        objectMb: opts.objectMb,
        memoryMb: opts.memoryMb,
        cliStartupS: startupS,
        generatorCpuMsPer100Mib: genCpu,
        rows,
        quotaMemoryMb: QUOTA_MEMORY_MB,
        quotaMbps: quotaMbps === undefined ? null : Object.fromEntries(quotaMbps),
        goals: GOALS,
      })}\n`,
    );
    process.stdout.write(
      missed.length === 0 ? "all goals met\n" : `goals missed: ${missed.join(", ")}\n`,
    );
    return opts.strict && missed.length > 0 ? 1 : 0;
  } finally {
    client.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2))
    .catch((e: unknown) => {
      process.stderr.write(
        `bench-upload: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      return 1;
    })
    .then((code) => process.exit(code));
}
