/**
 * `npm run bench:upload`: the handler's batch upload against the AWS CLI on the same local S3
 * server, side by side in one run. For each part size (8, 32, 64 MiB) it uploads an
 * OBJECT_MB object with the bundled handler (a child process, MEMORY_MB=512) and with
 * `/usr/bin/aws s3 cp` of a file of the same size and `multipart_chunksize`, and reports
 * MB/s and their ratio; plus the generator's throughput and the handler's peak RSS.
 * Goals: ratio ≥ 1.0 per part size, generator ≥ 2 GB/s, peak RSS under MEMORY_MB.
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { startS3Server } from "../local/s3/server";

/** The AWS CLI the benchmark compares against (Debian's, not a pip `aws` on PATH). */
export const AWS_CLI = "/usr/bin/aws";

/** Part sizes compared, MiB: the experiment's levels. */
export const PART_SIZES_MIB = [8, 32, 64] as const;

/** Goals of the benchmark. */
export const GOALS = { ratio: 1.0, generatorGBps: 2, rssUnderMemory: true } as const;

const USAGE = `Usage: npm run bench:upload -- [--object-mb N] [--memory-mb N] [--reps N] [--strict]

  --object-mb N   object size, MiB [256]
  --memory-mb N   the handler's MEMORY_MB [512]
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

/** Generator throughput: fillRandom into one reused 64 MiB buffer, GB/s (10^9 bytes). */
async function generatorGBps(totalMib: number): Promise<number> {
  const buffer = Buffer.allocUnsafeSlow(64 * MIB);
  await fillRandom(buffer);
  const start = performance.now();
  for (let done = 0; done < totalMib; done += 64) await fillRandom(buffer);
  const seconds = (performance.now() - start) / 1000;
  return (totalMib * MIB) / seconds / 1e9;
}

// The child loads the bundle exactly as the local runtime does and reports its own peak RSS.
const CHILD = `
const { handler } = require(process.env.BENCH_BUNDLE);
handler({}, { functionName: "bench-upload", awsRequestId: "bench" }).then((r) => {
  process.stderr.write(JSON.stringify({ response: r, maxRssKb: process.resourceUsage().maxRSS }) + "\\n");
}, (e) => { process.stderr.write(String(e && e.stack || e) + "\\n"); process.exitCode = 1; });
`;

interface HandlerRun {
  readonly seconds: number;
  readonly key: string;
  readonly maxRssMib: number;
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
  const out = JSON.parse(last) as {
    response: { latency_ms: number; s3_key: string; object_bytes: number; multipart_parts: number };
    maxRssKb: number;
  };
  if (out.response.object_bytes !== o.objectMb * MIB) {
    throw new Error(`handler wrote ${out.response.object_bytes} bytes, want ${o.objectMb * MIB}`);
  }
  return {
    seconds: out.response.latency_ms / 1000,
    key: out.response.s3_key,
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

    const gen = await generatorGBps(2048);
    process.stdout.write(
      `generator (fillRandom, 2 GiB into one 64 MiB buffer): ${gen.toFixed(2)} GB/s (goal ≥ ${GOALS.generatorGBps})\n`,
    );
    if (gen < GOALS.generatorGBps) missed.push("generator");
    process.stdout.write(
      `object ${opts.objectMb} MiB, handler MEMORY_MB=${opts.memoryMb}, best of ${opts.reps}; ` +
        `AWS CLI start-up ${startupS.toFixed(2)} s subtracted (raw ratio in brackets)\n`,
    );
    process.stdout.write(
      "part MiB | handler MB/s | aws s3 cp MB/s | ratio        | handler peak RSS MiB\n",
    );
    const rows = [];
    for (const partMb of PART_SIZES_MIB) {
      const config = await cliConfig(dir, partMb);
      let best: HandlerRun | undefined;
      let bestCli = Number.POSITIVE_INFINITY;
      let rss = 0;
      for (let rep = 0; rep < opts.reps; rep++) {
        const h = await handlerUpload(env, partMb, opts);
        rss = Math.max(rss, h.maxRssMib);
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
      rows.push({
        partMb,
        handlerMbps,
        cliMbps,
        cliRawMbps,
        ratio,
        rawRatio: handlerMbps / cliRawMbps,
        rss,
      });
      if (ratio < GOALS.ratio) missed.push(`ratio ${partMb} MiB`);
      if (rss >= opts.memoryMb) missed.push(`RSS ${partMb} MiB`);
      process.stdout.write(
        `${String(partMb).padStart(8)} | ${handlerMbps.toFixed(0).padStart(12)} | ${cliMbps.toFixed(0).padStart(14)} | ` +
          `${ratio.toFixed(2)} (${(handlerMbps / cliRawMbps).toFixed(2)})`.padEnd(12) +
          ` | ${rss.toFixed(0)} of ${opts.memoryMb}\n`,
      );
    }
    process.stdout.write(
      `${JSON.stringify({ generatorGBps: gen, objectMb: opts.objectMb, memoryMb: opts.memoryMb, cliStartupS: startupS, rows })}\n`,
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
