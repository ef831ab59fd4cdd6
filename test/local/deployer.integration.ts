import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import t from "tap";
import { type Cell, DEFAULT_CELL_SETTINGS } from "../../core/cell";
import { asEmfRecord } from "../../core/emf";
import { HANDLER_BUNDLE } from "../../core/paths";
import { type LocalBackend, startLocalBackend } from "../../local/backend";
import { LocalDeployer } from "../../local/deployer";

const CELL: Cell = { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 10 };
const UNRESERVED: Cell = {
  workload: "events",
  memoryMb: 512,
  batchEvents: 1,
  reservedConcurrency: 0,
};

async function setUp(t: tap.Test) {
  const dataDir = mkdtempSync(join(tmpdir(), "local-deployer-test-"));
  const backend: LocalBackend = await startLocalBackend({ dataDir, cpuScaling: "off" });
  const deployer = new LocalDeployer(
    backend,
    { ...DEFAULT_CELL_SETTINGS, namePrefix: "t-" },
    { bucketSuffix: "abc123" },
  );
  const s3 = new S3Client({
    endpoint: backend.s3.endpoint,
    region: backend.s3.region,
    forcePathStyle: true,
    credentials: { ...backend.s3.credentials },
    maxAttempts: 1,
  });
  t.teardown(async () => {
    s3.destroy();
    await deployer.close();
    await backend.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { backend, deployer, s3, dataDir };
}

t.test("the real bundle is built (npm run build)", async (t) => {
  t.ok(existsSync(HANDLER_BUNDLE), `${HANDLER_BUNDLE} exists`);
});

t.test(
  "deploy creates the bucket and function, an invocation lands an object, destroy removes both",
  async (t) => {
    const { backend, deployer, s3 } = await setUp(t);
    await deployer.prepare([CELL]);
    const deployed = await deployer.deploy(CELL);
    t.same(
      deployed,
      {
        cellId: "events-512mb-b10-rc10",
        functionName: "t-s3-experiment-events-512mb-b10-rc10",
        bucket: "s3x-events-512mb-b10-rc10-abc123",
        logGroup: "/aws/lambda/t-s3-experiment-events-512mb-b10-rc10",
        region: "us-east-1",
        endpoints: { lambda: backend.runtime.endpoint, s3: backend.s3.endpoint },
        credentials: backend.s3.credentials,
      },
      "DeployedCell",
    );
    t.same(backend.runtime.listFunctions(), [deployed.functionName], "function registered");

    const lambda = new LambdaClient({
      endpoint: deployed.endpoints.lambda,
      region: deployed.region,
      maxAttempts: 1,
      credentials: deployed.credentials,
    });
    t.teardown(() => lambda.destroy());
    const r = await lambda.send(
      new InvokeCommand({
        FunctionName: deployed.functionName,
        Payload: Buffer.from(JSON.stringify({ run_id: "run_1700000000000_dep001" })),
        LogType: "Tail",
      }),
    );
    t.equal(
      r.FunctionError,
      undefined,
      `no function error: ${Buffer.from(r.Payload ?? []).toString()}`,
    );
    const log = Buffer.from(r.LogResult ?? "", "base64").toString();
    const emfLine = log.split("\n").find((l) => l.startsWith('{"_aws"')) ?? "";
    const record = asEmfRecord(JSON.parse(emfLine));
    t.ok(record, "the handler's EMF record is in the Tail");
    t.match(
      record,
      {
        ok: true,
        run_id: "run_1700000000000_dep001",
        function_name: deployed.functionName,
        memory_mb: 512,
        reserved_concurrency: 10,
        events_generated: 10,
        object_bytes: 10 * 1024,
        s3_bucket: deployed.bucket,
      },
      "record describes the cell",
    );
    const object = await s3.send(
      new GetObjectCommand({ Bucket: deployed.bucket, Key: record?.s3_key }),
    );
    const body = await object.Body?.transformToString();
    t.equal(
      Buffer.byteLength(body ?? ""),
      10 * 1024,
      "the object landed in the cell's bucket with its bytes",
    );
    t.equal((body ?? "").trimEnd().split("\n").length, 10, "ten NDJSON events");

    const events = await backend.runtime.logs.getLogEvents(deployed.logGroup);
    t.ok(
      events.some((e) => e.message === emfLine),
      "the EMF line is in the log store too",
    );

    await s3.send(
      new CreateMultipartUploadCommand({ Bucket: deployed.bucket, Key: "unfinished.bin" }),
    );
    await deployer.destroy(CELL);
    t.same(backend.runtime.listFunctions(), [], "no function left");
    const buckets = await s3.send(new ListBucketsCommand({}));
    t.same(buckets.Buckets ?? [], [], "no bucket left");
    await t.rejects(
      s3.send(new HeadBucketCommand({ Bucket: deployed.bucket })),
      { name: "NotFound" },
      "bucket gone",
    );
  },
);

t.test(
  "an unreserved cell is registered without reserved concurrency and destroy is safe twice",
  async (t) => {
    const { backend, deployer, s3 } = await setUp(t);
    const deployed = await deployer.deploy(UNRESERVED);
    t.equal(deployed.functionName, "t-s3-experiment-events-512mb-b1-rc0", "name");
    await deployer.destroy(UNRESERVED);
    await deployer.destroy(UNRESERVED);
    await deployer.destroy(CELL);
    t.same(backend.runtime.listFunctions(), [], "no function");
    t.same((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], [], "no bucket");
  },
);

t.test("destroy aborts unfinished multipart uploads before deleting the bucket", async (t) => {
  const { deployer, s3 } = await setUp(t);
  const deployed = await deployer.deploy(CELL);
  await s3.send(new CreateMultipartUploadCommand({ Bucket: deployed.bucket, Key: "a.bin" }));
  await s3.send(new CreateMultipartUploadCommand({ Bucket: deployed.bucket, Key: "b.bin" }));
  const before = await s3.send(new ListMultipartUploadsCommand({ Bucket: deployed.bucket }));
  t.equal(before.Uploads?.length, 2, "two unfinished uploads");
  await deployer.destroy(CELL);
  await t.rejects(
    s3.send(new ListMultipartUploadsCommand({ Bucket: deployed.bucket })),
    { name: "NoSuchBucket" },
    "bucket gone",
  );
});

t.test("prepare fails fast when the bundle is missing", async (t) => {
  const { backend } = await setUp(t);
  const deployer = new LocalDeployer(backend, DEFAULT_CELL_SETTINGS, {
    bundlePath: "/nonexistent/handler.js",
  });
  t.teardown(() => deployer.close());
  await t.rejects(deployer.prepare([CELL]), {
    name: "InvalidInputError",
    message:
      'bundlePath="/nonexistent/handler.js" is invalid: allowed an existing bundle: run `npm run build` first',
  });
});

t.test("a deploy with an aborted signal creates nothing", async (t) => {
  const { backend, deployer, s3 } = await setUp(t);
  const controller = new AbortController();
  controller.abort();
  await t.rejects(deployer.deploy(CELL, controller.signal), { name: "AbortError" });
  t.same(backend.runtime.listFunctions(), [], "no function");
  t.same((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], [], "no bucket");
});

t.test(
  "destroy retries transient S3 errors, and a lasting failure names the cell, phase and operation",
  async (t) => {
    const { backend, deployer, s3 } = await setUp(t);
    await deployer.prepare([CELL]);
    const deployed = await deployer.deploy(CELL);
    await s3.send(new CreateMultipartUploadCommand({ Bucket: deployed.bucket, Key: "open" }));
    // One reset connection and one 503 on the way: the SDK's backoff absorbs both.
    backend.s3.faults.inject({ operation: "ListObjectsV2", nth: 1, action: "drop" });
    backend.s3.faults.inject({
      operation: "DeleteBucket",
      nth: 1,
      action: "error",
      status: 503,
      code: "SlowDown",
    });
    // An upload landing after the bucket was emptied, as S3 answers it: emptied again, deleted.
    backend.s3.faults.inject({
      operation: "DeleteBucket",
      nth: 2,
      action: "error",
      status: 409,
      code: "BucketNotEmpty",
    });
    await deployer.destroy(CELL);
    const buckets = await s3.send(new ListBucketsCommand({}));
    t.notOk(
      (buckets.Buckets ?? []).some((b) => b.Name === deployed.bucket),
      "the bucket is gone despite a reset, a SlowDown and a late BucketNotEmpty",
    );
    backend.s3.faults.clear();

    const again = await deployer.deploy(CELL);
    backend.s3.faults.inject({
      operation: "ListMultipartUploads",
      action: "error",
      status: 403,
      code: "AccessDenied",
    });
    const error = await deployer.destroy(CELL).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(
      String(error),
      /^CellOperationError: destroy of events-512mb-b10-rc10 failed in ListMultipartUploads s3x-events-512mb-b10-rc10-abc123: AccessDenied: /,
      "the message names the cell, the phase and the operation",
    );
    backend.s3.faults.clear();
    await deployer.destroy(CELL);
    t.ok(again.bucket === deployed.bucket, "same bucket name per run");
  },
);
