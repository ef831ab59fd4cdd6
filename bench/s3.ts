/**
 * `npm run bench:s3`: ingest throughput of the local S3 server for a streamed 100 MiB multipart
 * upload from the SDK with 8, 32 and 64 MiB parts, and the server's peak RSS for two object
 * sizes. Each part goes to UploadPart as a stream, so the SDK sends it as it does any streamed
 * body: aws-chunked with a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER). lib-storage's
 * Upload, which hands each part over as one Buffer (signed SHA-256 payload hash per part), is
 * measured alongside for comparison. The server is the real `npm run s3:local` entry, bundled by esbuild
 * and run as a child process so that its memory and CPU are measured alone (Linux /proc); a fresh
 * child per configuration, so each peak is its own.
 * Goal: ≥ 400 MB/s for every part size, and a peak RSS that does not grow with object size.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { MIB } from "../core/constants";
import { DEFAULT_S3_CREDENTIALS } from "../local/s3/server";
import { bundleCli, type ChildServer, startChild } from "./s3-child";

/** Target throughput, MB/s (10^6 bytes per second). */
const GOAL_MB_PER_S = 400;
const PART_SIZES_MIB = [8, 32, 64] as const;
const OBJECT_MIB = 100;
const RSS_OBJECT_MIB = [100, 400] as const;
const RSS_PART_MIB = 64;
const REPEATS = 5;
/** Parts in flight at once, as lib-storage's default queueSize. */
const QUEUE_SIZE = 4;

/** How the SDK is driven: streamed parts (the goal) or lib-storage's Buffer parts. */
type ClientMode = "stream" | "lib-storage";

/** A stream of `size` bytes in 1 MiB chunks (random, so nothing compresses or dedups). */
function source(size: number, block: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let off = 0; off < size; off += MIB) yield block.subarray(0, Math.min(MIB, size - off));
    })(),
  );
}

/**
 * Streams `body` into a multipart upload: the stream is cut into parts as it arrives (the source
 * chunks are kept, not concatenated), and up to {@link QUEUE_SIZE} parts are sent at once, each
 * as a Readable body with its ContentLength. Aborts the upload on any failure.
 */
async function streamedUpload(
  s3: S3Client,
  key: string,
  body: Readable,
  partBytes: number,
): Promise<void> {
  const target = { Bucket: "bench", Key: key };
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand(target));
  if (UploadId === undefined) throw new Error("CreateMultipartUpload returned no UploadId");
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = (partNumber: number, chunks: Buffer[], length: number): void => {
    const p = s3
      .send(
        new UploadPartCommand({
          ...target,
          UploadId,
          PartNumber: partNumber,
          Body: Readable.from(chunks),
          ContentLength: length,
        }),
      )
      .then((out) => {
        completed.push({ PartNumber: partNumber, ETag: out.ETag });
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  try {
    let chunks: Buffer[] = [];
    let length = 0;
    let partNumber = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (length + rest.length >= partBytes) {
        const take = partBytes - length;
        chunks.push(rest.subarray(0, take));
        send(++partNumber, chunks, partBytes);
        rest = rest.subarray(take);
        chunks = [];
        length = 0;
        while (inFlight.size >= QUEUE_SIZE) await Promise.race(inFlight);
      }
      if (rest.length > 0) {
        chunks.push(rest);
        length += rest.length;
      }
    }
    if (length > 0 || partNumber === 0) send(++partNumber, chunks, length);
    await Promise.all(inFlight);
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await s3.send(
      new CompleteMultipartUploadCommand({
        ...target,
        UploadId,
        MultipartUpload: { Parts: completed },
      }),
    );
  } catch (e: unknown) {
    await Promise.allSettled(inFlight);
    await s3.send(new AbortMultipartUploadCommand({ ...target, UploadId }));
    throw e;
  }
}

/** Uploads `objectMib` MiB with `partMib` MiB parts and returns the throughput, MB/s. */
async function uploadOnce(
  s3: S3Client,
  mode: ClientMode,
  key: string,
  objectMib: number,
  partMib: number,
  block: Buffer,
): Promise<number> {
  const bytes = objectMib * MIB;
  const started = process.hrtime.bigint();
  if (mode === "stream") {
    await streamedUpload(s3, key, source(bytes, block), partMib * MIB);
  } else {
    await new Upload({
      client: s3,
      params: { Bucket: "bench", Key: key, Body: source(bytes, block) },
      partSize: partMib * MIB,
      queueSize: QUEUE_SIZE,
    }).done();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return bytes / 1e6 / seconds;
}

async function withServer<T>(
  script: string,
  fn: (s3: S3Client, server: ChildServer) => Promise<T>,
): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-s3-data-"));
  const server = await startChild(script, dataDir);
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { ...DEFAULT_S3_CREDENTIALS },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    return await fn(s3, server);
  } finally {
    s3.destroy();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** 1, 5 and 15 minute load averages: other work on the machine skews every figure. */
const loadavgText = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`;

/** Runs the benchmark and prints its tables; returns the exit code (1 if the goal is missed). */
export async function main(): Promise<number> {
  if (process.platform !== "linux") {
    console.error("bench:s3 reads the server's peak RSS and CPU time from /proc: Linux only");
    return 1;
  }
  const work = await mkdtemp(join(tmpdir(), "bench-s3-"));
  try {
    const script = await bundleCli(work);
    const block = randomBytes(MIB);
    console.log(
      `local S3 server: ${OBJECT_MIB} MiB multipart uploads from @aws-sdk/client-s3 on loopback, ${QUEUE_SIZE} parts in flight, median of ${REPEATS}`,
    );
    console.log(
      "  stream:      each part a Readable body: aws-chunked, CRC32 trailer verified, MD5 ETag (the goal)",
    );
    console.log(
      "  lib-storage: Upload, each part one Buffer: CRC32 header and signed SHA-256 payload hash, both verified\n",
    );
    console.log(`load average at start: ${loadavgText()}`);
    console.log(
      "client      | part size | MB/s median | MB/s best | server CPU/100MiB | client CPU/100MiB | server RSS idle -> peak | load avg",
    );
    let missed = false;
    for (const mode of ["stream", "lib-storage"] as const) {
      for (const partMib of PART_SIZES_MIB) {
        const r = await withServer(script, async (s3, server) => {
          const idle = await server.usage();
          // One untimed upload of the same shape first: the experiment talks to a long-running server.
          await uploadOnce(s3, mode, "warmup", OBJECT_MIB, partMib, block);
          const before = await server.usage();
          const clientBefore = process.cpuUsage();
          const rates: number[] = [];
          for (let i = 0; i < REPEATS; i++) {
            rates.push(await uploadOnce(s3, mode, `p${partMib}-${i}`, OBJECT_MIB, partMib, block));
          }
          const client = process.cpuUsage(clientBefore);
          const after = await server.usage();
          return {
            rates,
            idle: idle.maxRss,
            peak: after.maxRss,
            serverMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / REPEATS,
            clientMs: (client.user + client.system) / 1000 / REPEATS,
          };
        });
        const med = median(r.rates);
        if (mode === "stream" && med < GOAL_MB_PER_S) missed = true;
        console.log(
          [
            mode.padEnd(11),
            `${String(partMib).padStart(5)} MiB`,
            med.toFixed(0).padStart(11),
            Math.max(...r.rates)
              .toFixed(0)
              .padStart(9),
            `${r.serverMs.toFixed(0)} ms`.padStart(17),
            `${r.clientMs.toFixed(0)} ms`.padStart(17),
            `${mib(r.idle)} -> ${mib(r.peak)}`.padStart(23),
            loadavgText(),
          ].join(" | "),
        );
      }
    }
    console.log(
      `\nserver peak RSS by object size (stream, ${RSS_PART_MIB} MiB parts, a fresh server each):`,
    );
    for (const objectMib of RSS_OBJECT_MIB) {
      const r = await withServer(script, async (s3, server) => {
        const idle = (await server.usage()).maxRss;
        const rate = await uploadOnce(
          s3,
          "stream",
          `rss-${objectMib}`,
          objectMib,
          RSS_PART_MIB,
          block,
        );
        return { rate, idle, peak: (await server.usage()).maxRss };
      });
      console.log(
        `${String(objectMib).padStart(6)} MiB object: RSS idle ${mib(r.idle)} -> peak ${mib(r.peak)} (${r.rate.toFixed(0)} MB/s)`,
      );
    }
    console.log(`\nload average at end: ${loadavgText()} (${availableParallelism()} cores)`);
    console.log(
      `goal >= ${GOAL_MB_PER_S} MB/s (10^6 bytes/s, median, stream) for every part size: ${missed ? "MISSED" : "met"}`,
    );
    console.log(
      "client and server share this machine's cores: MB/s is bounded by (server + client CPU) / cores.",
    );
    return missed ? 1 : 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
