import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
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
