import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, gzipSync } from "node:zlib";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import t from "tap";
import { asEmfRecord, type EmfRecord } from "../../core/emf";
import { handler } from "../../handlers/handler";
import { s3Client, UNSIGNED_PAYLOAD } from "../../handlers/s3-client";
import { type S3Server, startS3Server } from "../../local/s3/server";
import { captureOutput, HANDLER_ENV_KEYS, useEnv } from "../helpers/process-state";

// The handler, called in-process, against the local S3 server on 127.0.0.1; objects are
// checked with the SDK and with Debian's AWS CLI.

const MIB = 1024 * 1024;
const BUCKET = "s3x-handler-test";
const AWS_CLI = "/usr/bin/aws";

async function startServer(t: tap.Test): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), "s3x-handler-test-"));
  const server = await startS3Server({ dataDir: dir, port: 0 });
  t.teardown(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return server;
}

let server: S3Server;
let s3: S3Client;

t.before(async () => {
  server = await startServer(t);
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
  });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

/** Sets the handler's environment for one test, pointed at `target`, and restores it afterwards. */
function useHandlerEnv(t: tap.Test, env: Record<string, string>, target: S3Server): void {
  useEnv(t, HANDLER_ENV_KEYS, {
    OUTPUT_BUCKET: BUCKET,
    MEMORY_MB: "512",
    S3_ENDPOINT: target.endpoint,
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
    AWS_REGION: target.region,
    ...env,
  });
}

/** Runs the handler with stdout captured: its outcome and the one EMF record it wrote. */
async function invoke(
  t: tap.Test,
  event: unknown,
  remainingMs = 60_000,
): Promise<{ result: PromiseSettledResult<unknown>; record: EmfRecord | null }> {
  const context = {
    functionName: "fn-integration",
    awsRequestId: "req-integration",
    getRemainingTimeInMillis: () => remainingMs,
  };
  const { stdout: writes, result } = await captureOutput(() => handler(event, context));
  t.equal(writes.length, 1, "the handler wrote exactly one stdout line");
  return { result, record: asEmfRecord(JSON.parse(writes[0] ?? "null")) };
}

function response(t: tap.Test, result: PromiseSettledResult<unknown>): Record<string, unknown> {
  if (result.status === "rejected") {
    t.fail(`the handler rejected: ${String(result.reason)}`);
    return {};
  }
  return result.value as Record<string, unknown>;
}

async function getBody(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
}

function awsCliHeadObject(key: string): Promise<{ ContentLength: number; ETag: string }> {
  const env = {
    PATH: process.env.PATH,
    HOME: tmpdir(),
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: server.region,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
  const args = [
    "s3api",
    "head-object",
    "--bucket",
    BUCKET,
    "--key",
    key,
    "--endpoint-url",
    server.endpoint,
  ];
  return new Promise((resolve, reject) => {
    execFile(AWS_CLI, args, { env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`aws s3api head-object failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as { ContentLength: number; ETag: string });
    });
  });
}

async function openUploads(): Promise<number> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  return out.Uploads?.length ?? 0;
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (e: unknown) {
    if (e instanceof Error && e.name === "NotFound") return false;
    throw e;
  }
}

t.test(
  "the events object round-trips with the size the response and the EMF line report",
  async (t) => {
    useHandlerEnv(t, { WORKLOAD: "events", BATCH_EVENTS: "10", EVENT_BYTES: "256" }, server);
    const { result, record } = await invoke(t, { run_id: "run_1700000000000_evt001" });
    const res = response(t, result);
    t.match(
      res,
      {
        ok: true,
        run_id: "run_1700000000000_evt001",
        object_bytes: 2560,
        events_generated: 10,
        multipart_parts: 0,
      },
      "the seed's response",
    );
    const key = String(res.s3_key);
    t.match(
      key,
      /^events\/512mb\/run_1700000000000_evt001\/\d{13}-[0-9a-f-]{36}\.jsonl$/,
      "the key",
    );
    t.match(
      record,
      { ok: true, object_bytes: 2560, s3_key: key, s3_bucket: BUCKET, events_generated: 10 },
      "EMF",
    );
    const body = await getBody(key);
    t.equal(body.length, 2560, "the stored object has the reported bytes");
    const lines = body.toString("utf8").split("\n");
    t.equal(lines.pop(), "", "NDJSON ends with a newline");
    t.equal(lines.length, 10, "10 lines");
    for (const line of lines)
      t.equal(Buffer.byteLength(line) + 1, 256, "each line is 256 bytes with its newline");
    t.ok(
      lines.every((l) => typeof JSON.parse(l) === "object"),
      "every line is a JSON object",
    );
    const head = await awsCliHeadObject(key);
    t.equal(head.ContentLength, 2560, "the AWS CLI sees the object with its size");
    t.equal(
      head.ETag,
      `"${createHash("md5").update(body).digest("hex")}"`,
      "the ETag is the MD5 of what was read back",
    );
  },
);

t.test("the batch object has the reported size and part count, incompressible", async (t) => {
  useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "12" }, server);
  const { result, record } = await invoke(t, {});
  const res = response(t, result);
  t.match(
    res,
    { ok: true, object_bytes: 12 * MIB, events_generated: 0, multipart_parts: 3 },
    "response",
  );
  t.match(
    record,
    {
      ok: true,
      object_bytes: 12 * MIB,
      multipart_parts: 3,
      multipart_part_mb: 5,
      object_mb: 12,
      cold_start: false,
    },
    "EMF",
  );
  const key = String(res.s3_key);
  const head = await awsCliHeadObject(key);
  t.equal(head.ContentLength, 12 * MIB, "the AWS CLI sees 12 MiB");
  t.match(head.ETag, /-3"$/, "a multipart ETag of 3 parts");
  const body = await getBody(key);
  t.equal(body.length, 12 * MIB, "12 MiB read back");
  t.ok(
    gzipSync(body.subarray(5 * MIB, 7 * MIB)).length > 2 * MIB * 0.99,
    "the bytes across a part boundary are incompressible",
  );
  t.equal(await openUploads(), 0, "no upload left open");
});

t.test("an object of one part goes as one PutObject of exactly its bytes", async (t) => {
  useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "3" }, server);
  const { result, record } = await invoke(t, {});
  const res = response(t, result);
  t.match(res, { ok: true, object_bytes: 3 * MIB, multipart_parts: 0 }, "response");
  t.match(record, { ok: true, object_bytes: 3 * MIB, multipart_parts: 0 }, "EMF");
  const head = await awsCliHeadObject(String(res.s3_key));
  t.equal(head.ContentLength, 3 * MIB, "the AWS CLI sees 3 MiB");
  t.notMatch(head.ETag, /-\d+"$/, "a single-part ETag");
  t.ok(gzipSync(await getBody(String(res.s3_key))).length > 3 * MIB * 0.99, "incompressible");
});

for (const [what, fault] of [
  [
    "an error response (500 InternalError)",
    { action: "error", status: 500, code: "InternalError" },
  ],
  ["a dropped connection", { action: "drop" }],
] as const) {
  t.test(`a part failing midway with ${what} aborts the upload and reports ok:false`, async (t) => {
    // MEMORY_MB=140 leaves room for one 5 MiB part: parts go one at a time, so the second
    // part's request is UploadPart number 2. The SDK retries a 500 and a dropped socket (3
    // attempts), so requests 2, 3 and 4 all fail: part 2 never gets through.
    useHandlerEnv(
      t,
      { WORKLOAD: "batch", MEMORY_MB: "140", MULTIPART_MB: "5", OBJECT_MB: "20" },
      server,
    );
    for (const nth of [2, 3, 4]) server.faults.inject({ operation: "UploadPart", nth, ...fault });
    t.teardown(() => server.faults.clear());
    const { result, record } = await invoke(t, {});
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(
        result.reason,
        { name: "S3OperationError", operation: "UploadPart" },
        "an UploadPart error",
      );
      t.match(String(result.reason.message), / part 2 failed: /, "the message names part 2");
    }
    t.match(
      record,
      { ok: false, object_bytes: 0, multipart_parts: 0, error: /UploadPart .* part 2 failed/ },
      "EMF ok:false",
    );
    t.equal(await openUploads(), 0, "ListMultipartUploads is empty: the upload was aborted");
    t.equal(await objectExists(record?.s3_key ?? ""), false, "no object was created");
  });
}

t.test(
  "with the S3 server stopped the handler fails within its timeout with a clear error",
  async (t) => {
    const stopped = await startServer(t);
    await stopped.stop();
    useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "12" }, stopped);
    const { result, record } = await invoke(t, {}, 5_000);
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(
        String(result.reason.message),
        /^S3 CreateMultipartUpload s3:\/\/s3x-handler-test\/batch\/512mb\/\S+ failed: .*(ECONNREFUSED|deadline reached)/,
        "the message names the request and the refused connection",
      );
    }
    t.match(record, { ok: false, object_bytes: 0 }, "EMF ok:false");
    t.ok(
      (record?.latency_ms ?? Number.POSITIVE_INFINITY) < 5_000,
      "it failed before the 5 s the function had left",
    );
  },
);

/** One UploadPart request as it left the handler's client (after signing). */
interface SentPart {
  readonly partNumber: number;
  readonly bytes: number;
  readonly md5: Buffer;
  readonly crc32Base64: string;
  readonly headers: Record<string, string>;
  /** The memory the body was a view of, and where in it: a copy would be a new buffer. */
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString("base64");
}

/**
 * Watches the UploadPart requests of the handler's own S3 client (the cached one it gets for
 * this server) at the last step before the wire, and optionally changes one part's bytes
 * there, after its checksum was computed and the request signed. Removed at teardown.
 */
function watchParts(t: tap.Test, tamperPart?: number): SentPart[] {
  const client = s3Client({ endpoint: server.endpoint, region: server.region, workload: "batch" });
  const sent: SentPart[] = [];
  const name = `test-watch-parts-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      const input = args.input as { PartNumber?: number };
      if (context.commandName === "UploadPartCommand" && Buffer.isBuffer(request.body)) {
        const body = request.body;
        sent.push({
          partNumber: input.PartNumber ?? 0,
          bytes: body.length,
          md5: createHash("md5").update(body).digest(),
          crc32Base64: uint32Base64(crc32(body)),
          headers: { ...request.headers },
          buffer: body.buffer,
          byteOffset: body.byteOffset,
        });
        if (input.PartNumber === tamperPart) {
          const tampered = Buffer.from(body);
          tampered[1000] = (tampered[1000] ?? 0) ^ 0xff;
          request.body = tampered;
        }
      }
      return next(args);
    },
    { step: "deserialize", priority: "low", name },
  );
  t.teardown(() => {
    client.middlewareStack.remove(name);
  });
  return sent;
}

// Parts in flight at MEMORY_MB=512 (settings.ts): 8 of the 9 with 8 MiB parts (part 9 reuses
// a buffer); all 3 at once with 32 and 64 MiB parts.
for (const [partMb, objectMb, parts, inFlight] of [
  [8, 72, 9, 8],
  [32, 72, 3, 3],
  [64, 136, 3, 3],
] as const) {
  t.test(
    `${partMb} MiB parts: exact bytes and ${parts} parts, each an unsigned payload with a signed CRC32`,
    async (t) => {
      useHandlerEnv(
        t,
        { WORKLOAD: "batch", MULTIPART_MB: String(partMb), OBJECT_MB: String(objectMb) },
        server,
      );
      const sent = watchParts(t);
      const { result, record } = await invoke(t, { run_id: `run_1700000000000_p${partMb}` });
      const res = response(t, result);
      t.match(
        res,
        { ok: true, object_bytes: objectMb * MIB, events_generated: 0, multipart_parts: parts },
        "response",
      );
      t.match(
        record,
        {
          ok: true,
          workload: "batch",
          run_id: `run_1700000000000_p${partMb}`,
          function_name: "fn-integration",
          request_id: "req-integration",
          memory_mb: 512,
          s3_bucket: BUCKET,
          s3_key: String(res.s3_key),
          object_bytes: objectMb * MIB,
          object_mb: objectMb,
          multipart_part_mb: partMb,
          multipart_parts: parts,
          events_generated: 0,
          batch_events: 0,
          event_bytes: 0,
        },
        "EMF fields",
      );
      t.equal(record?.error, undefined, "no error field on success");
      const ordered = [...sent].sort((a, b) => a.partNumber - b.partNumber);
      t.same(
        ordered.map((p) => [p.partNumber, p.bytes]),
        Array.from({ length: parts }, (_, i) => [
          i + 1,
          Math.min(partMb, objectMb - i * partMb) * MIB,
        ]),
        "one request per part, each of the part size but the last",
      );
      const buffers = new Set(ordered.map((p) => p.buffer));
      t.equal(
        buffers.size,
        inFlight,
        `the parts were views of ${inFlight} reused part buffers, one per part in flight`,
      );
      t.ok(
        ordered.every((p) => p.byteOffset === 0 && p.buffer.byteLength === partMb * MIB),
        "each part was sent from the start of a part-sized buffer, not from a copy",
      );
      for (const p of ordered) {
        t.equal(
          p.headers["x-amz-content-sha256"],
          UNSIGNED_PAYLOAD,
          `part ${p.partNumber}: payload not hashed with SHA-256`,
        );
        t.equal(
          p.headers["x-amz-checksum-crc32"],
          p.crc32Base64,
          `part ${p.partNumber}: the CRC32 header is that of the bytes sent`,
        );
        t.match(
          p.headers.authorization,
          /SignedHeaders=[^,]*x-amz-checksum-crc32/,
          `part ${p.partNumber}: the CRC32 header is signed`,
        );
      }
      const body = await getBody(String(res.s3_key));
      t.equal(body.length, objectMb * MIB, "the stored object has the reported size");
      let offset = 0;
      for (const p of ordered) {
        const stored = createHash("md5")
          .update(body.subarray(offset, offset + p.bytes))
          .digest();
        t.ok(stored.equals(p.md5), `part ${p.partNumber}: stored bytes are the bytes sent`);
        offset += p.bytes;
      }
      const head = await awsCliHeadObject(String(res.s3_key));
      t.match(head.ETag, new RegExp(`-${parts}"$`), `a multipart ETag of ${parts} parts`);
      t.equal(await openUploads(), 0, "no upload left open");
    },
  );
}

t.test(
  "a part changed after its CRC32 was signed is rejected and the upload aborted",
  async (t) => {
    useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "20" }, server);
    const sent = watchParts(t, 2);
    const { result, record } = await invoke(t, {});
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(
        String(result.reason.message),
        /^S3 UploadPart s3:\/\/s3x-handler-test\/batch\/512mb\/\S+\.bin part 2 failed: The CRC32 you specified did not match the calculated checksum\./,
        "the server's BadDigest names the CRC32",
      );
    }
    t.equal(
      sent.filter((p) => p.partNumber === 2).length,
      1,
      "part 2 was sent once: a BadDigest is not retried",
    );
    t.match(record, { ok: false, object_bytes: 0, multipart_parts: 0 }, "EMF ok:false");
    t.equal(await openUploads(), 0, "ListMultipartUploads is empty: the upload was aborted");
    t.equal(await objectExists(record?.s3_key ?? ""), false, "no object was created");
  },
);

t.test(
  "a part that fails once is sent again from the same buffer and the upload succeeds",
  async (t) => {
    // 4 parts of 5 MiB, all in flight at once; the second UploadPart request gets a 500 and the
    // SDK retries it: the part's buffer stays in use until the retry settled.
    useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "20" }, server);
    server.faults.inject({ operation: "UploadPart", nth: 2, action: "error" });
    t.teardown(() => server.faults.clear());
    const sent = watchParts(t);
    const { result, record } = await invoke(t, {});
    const res = response(t, result);
    t.match(res, { ok: true, object_bytes: 20 * MIB, multipart_parts: 4 }, "response");
    t.match(record, { ok: true, multipart_parts: 4 }, "EMF");
    t.equal(sent.length, 5, "five UploadPart requests: four parts, one of them twice");
    const numbers = sent.map((p) => p.partNumber);
    const again = numbers.find((n, i) => numbers.indexOf(n) !== i);
    const attempts = sent.filter((p) => p.partNumber === again);
    t.equal(attempts.length, 2, `part ${again} was sent twice`);
    t.ok(attempts[0]?.md5.equals(attempts[1]?.md5 ?? Buffer.alloc(0)), "with the same bytes");
    t.equal(attempts[0]?.buffer, attempts[1]?.buffer, "from the same part buffer");
    const body = await getBody(String(res.s3_key));
    let offset = 0;
    for (const n of [1, 2, 3, 4]) {
      const p = sent.find((x) => x.partNumber === n);
      const stored = createHash("md5")
        .update(body.subarray(offset, offset + 5 * MIB))
        .digest();
      t.ok(p !== undefined && stored.equals(p.md5), `part ${n}: stored bytes are the bytes sent`);
      offset += 5 * MIB;
    }
    t.equal(await openUploads(), 0, "no upload left open");
  },
);

t.test(
  "with parts in parallel, a part failing stops the others and aborts the upload",
  async (t) => {
    // 512 MB and 5 MiB parts: 8 parts in flight of 16. Requests 2 to 40 fail: the parts in
    // flight fail after the SDK's 3 attempts each, long before all 16 parts were sent.
    useHandlerEnv(t, { WORKLOAD: "batch", MULTIPART_MB: "5", OBJECT_MB: "80" }, server);
    for (let nth = 2; nth <= 40; nth++) {
      server.faults.inject({ operation: "UploadPart", nth, action: "error" });
    }
    t.teardown(() => server.faults.clear());
    const sent = watchParts(t);
    const { result, record } = await invoke(t, {});
    t.equal(result.status, "rejected", "the handler rejects");
    if (result.status === "rejected") {
      t.match(
        result.reason,
        { name: "S3OperationError", operation: "UploadPart", message: /part \d+ failed: / },
        "an UploadPart error naming its part",
      );
    }
    t.match(record, { ok: false, object_bytes: 0, error: /UploadPart/ }, "EMF ok:false");
    t.ok(
      new Set(sent.map((p) => p.partNumber)).size < 16,
      "the remaining parts were not all uploaded after the failure",
    );
    t.equal(await openUploads(), 0, "ListMultipartUploads is empty: the upload was aborted");
    t.equal(await objectExists(record?.s3_key ?? ""), false, "no object was created");
  },
);
