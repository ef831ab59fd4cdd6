import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import t from "tap";
import { type Cell, type CellSettings, cellId } from "../../core/cell";
import { IngestCell } from "../../infra/ingest-cell";
import {
  type IngestCellArgs,
  ingestCellArgs,
  MAX_CELL_NAME_LENGTH,
} from "../../infra/ingest-cell-args";
import { ingestCellProgram } from "../../infra/ingest-cell-program";

/** A resource as the mock engine saw it. */
interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider: string | undefined;
}

const ACCOUNT = "123456789012";
const registered: Registered[] = [];
/** `call <name>` when a registration reaches the engine, `done <name>` when it completes. */
const engineLog: string[] = [];

// Mock engine: records every registration and answers with the state AWS would add.
pulumi.runtime.setMocks(
  {
    async newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      registered.push({ type: args.type, name: args.name, inputs, provider: args.provider });
      engineLog.push(`call ${args.name}`);
      // Slow engine: a dependency that is not awaited shows up as a call before its "done".
      await new Promise((done) => setTimeout(done, 5));
      engineLog.push(`done ${args.name}`);
      switch (args.type) {
        case "aws:s3/bucket:Bucket": {
          const bucket = `${args.name}-abc1234`;
          return { id: bucket, state: { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}` } };
        }
        case "aws:cloudwatch/logGroup:LogGroup":
          return {
            id: String(inputs.name),
            state: { ...inputs, arn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${inputs.name}` },
          };
        case "aws:iam/role:Role": {
          const name = `${args.name}-abc1234`;
          return {
            id: name,
            state: { ...inputs, name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` },
          };
        }
        case "aws:lambda/function:Function":
          return {
            id: String(inputs.name),
            state: {
              ...inputs,
              arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${inputs.name}`,
            },
          };
        default:
          return { id: `${args.name}-id`, state: inputs };
      }
    },
    call(args) {
      return args.inputs;
    },
  },
  "s3ingest",
  "test",
);

function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

const bundleDir = mkdtempSync(join(tmpdir(), "ingest-cell-"));
const bundlePath = join(bundleDir, "handler.js");
writeFileSync(bundlePath, "exports.handler = async () => ({});\n");
t.teardown(() => rmSync(bundleDir, { recursive: true, force: true }));

const settings: Omit<CellSettings, "region"> = {
  eventBytes: 512,
  objectMb: 200,
  architecture: "arm64",
  namePrefix: "",
};

/** The resource types of one cell and whether AWS lets them carry tags. */
const CELL_TYPES: Readonly<Record<string, boolean>> = {
  "aws:s3/bucket:Bucket": true,
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": false,
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": false,
  "aws:s3/bucketPolicy:BucketPolicy": false,
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": false,
  "aws:cloudwatch/logGroup:LogGroup": true,
  "aws:iam/role:Role": true,
  "aws:iam/rolePolicy:RolePolicy": false,
  "aws:lambda/function:Function": true,
};

interface Case {
  readonly cell: Cell;
  readonly settings: Omit<CellSettings, "region">;
  readonly functionName: string;
  readonly timeout: number;
  /** The exact environment, written out (not computed) so the test pins the contract. */
  readonly environment: (bucket: string) => Record<string, string>;
}

const CASES: readonly Case[] = [
  {
    cell: { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 },
    settings,
    functionName: "s3-experiment-events-512mb-b1-rc0",
    timeout: 60,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "events",
      MEMORY_MB: "512",
      RESERVED_CONCURRENCY: "0",
      BATCH_EVENTS: "1",
      EVENT_BYTES: "512",
    }),
  },
  {
    cell: { workload: "events", memoryMb: 1024, batchEvents: 10, reservedConcurrency: 10 },
    settings: { ...settings, architecture: "x86_64", namePrefix: "dev-", runTag: "k3x9q2" },
    functionName: "dev-s3-experiment-events-1024mb-b10-rc10-k3x9q2",
    timeout: 60,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "events",
      MEMORY_MB: "1024",
      RESERVED_CONCURRENCY: "10",
      BATCH_EVENTS: "10",
      EVENT_BYTES: "512",
      NAME_PREFIX: "dev-",
    }),
  },
  {
    cell: { workload: "events", memoryMb: 2048, batchEvents: 100, reservedConcurrency: 50 },
    settings,
    functionName: "s3-experiment-events-2048mb-b100-rc50",
    timeout: 60,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "events",
      MEMORY_MB: "2048",
      RESERVED_CONCURRENCY: "50",
      BATCH_EVENTS: "100",
      EVENT_BYTES: "512",
    }),
  },
  {
    cell: { workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 0 },
    settings,
    functionName: "s3-experiment-batch-512mb-p8mb-rc0",
    timeout: 900,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "batch",
      MEMORY_MB: "512",
      RESERVED_CONCURRENCY: "0",
      MULTIPART_MB: "8",
      OBJECT_MB: "200",
    }),
  },
  {
    cell: { workload: "batch", memoryMb: 1024, multipartMb: 32, reservedConcurrency: 10 },
    settings,
    functionName: "s3-experiment-batch-1024mb-p32mb-rc10",
    timeout: 900,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "batch",
      MEMORY_MB: "1024",
      RESERVED_CONCURRENCY: "10",
      MULTIPART_MB: "32",
      OBJECT_MB: "200",
    }),
  },
  {
    cell: { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 50 },
    settings: { ...settings, architecture: "x86_64" },
    functionName: "s3-experiment-batch-2048mb-p64mb-rc50",
    timeout: 900,
    environment: (bucket) => ({
      OUTPUT_BUCKET: bucket,
      WORKLOAD: "batch",
      MEMORY_MB: "2048",
      RESERVED_CONCURRENCY: "50",
      MULTIPART_MB: "64",
      OBJECT_MB: "200",
    }),
  },
];

/** Creates a cell under the mocks and returns its resources, once the function exists. */
async function deploy(
  name: string,
  args: IngestCellArgs,
  opts?: pulumi.ComponentResourceOptions,
): Promise<{ cell: IngestCell; resources: Map<string, Registered> }> {
  const cell = new IngestCell(name, args, opts);
  // The function depends on every other child: once its name resolves, all are registered.
  await resolved(cell.functionName);
  const resources = new Map<string, Registered>();
  for (const r of registered) {
    if (r.name.startsWith(`${name}-`)) resources.set(r.type, r);
  }
  return { cell, resources };
}

function input(resources: Map<string, Registered>, type: string): Record<string, unknown> {
  const r = resources.get(type);
  if (r === undefined) throw new Error(`no ${type} registered`);
  return r.inputs;
}

function parseJson(value: unknown): unknown {
  if (typeof value !== "string") throw new Error(`expected a JSON string, got ${typeof value}`);
  return JSON.parse(value);
}

/** Every (effect, action, resource) a policy document names. */
function grants(document: unknown): string[] {
  const statements = (document as { Statement: Record<string, unknown>[] }).Statement;
  const out: string[] = [];
  for (const s of statements) {
    const actions = ([] as unknown[]).concat(s.Action);
    const resources = ([] as unknown[]).concat(s.Resource);
    for (const a of actions) for (const r of resources) out.push(`${s.Effect} ${a} ${r}`);
  }
  return out.sort();
}

for (const c of CASES) {
  const id = cellId(c.cell);
  t.test(`cell ${id} (${c.settings.architecture}) deploys as specified`, async (t) => {
    const { cell, resources } = await deploy(id, ingestCellArgs(c.cell, c.settings, bundlePath));
    const bucketName = `${id}-bucket-abc1234`;
    const bucketArn = `arn:aws:s3:::${bucketName}`;
    const logGroup = `/aws/lambda/${c.functionName}`;
    const logGroupArn = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${logGroup}`;
    const tags = { experiment: "s3-ingestion-experiment", workload: c.cell.workload, cell: id };

    t.strictSame(
      [...resources.keys()].sort(),
      Object.keys(CELL_TYPES).sort(),
      "one resource of each cell type, nothing else",
    );

    t.equal(await resolved(cell.functionName), c.functionName, "functionName output");
    t.equal(await resolved(cell.bucketName), bucketName, "bucketName output");
    t.equal(await resolved(cell.logGroupName), logGroup, "logGroupName output");
    t.equal(
      await resolved(cell.functionArn),
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${c.functionName}`,
      "functionArn output",
    );

    const fn = input(resources, "aws:lambda/function:Function");
    t.equal(fn.name, c.functionName, "function name per docs/architecture.md Names");
    t.equal(fn.memorySize, c.cell.memoryMb, "memory from the cell");
    t.equal(fn.timeout, c.timeout, "timeout sized for the workload");
    t.equal(fn.runtime, "nodejs22.x", "Node.js 22 runtime");
    t.equal(fn.handler, "handler.handler", "handler export of handler.js");
    t.strictSame(fn.architectures, [c.settings.architecture], "architecture");
    t.strictSame(
      fn.environment,
      { variables: c.environment(bucketName) },
      "environment is exactly the seed's variables of this workload",
    );
    if (c.cell.reservedConcurrency === 0) {
      t.notOk(
        "reservedConcurrentExecutions" in fn,
        "level 0 sets no reserved concurrency at all (never a literal 0)",
      );
    } else {
      t.equal(
        fn.reservedConcurrentExecutions,
        c.cell.reservedConcurrency,
        "reserved concurrency is set",
      );
    }
    t.strictSame(
      fn.loggingConfig,
      { logFormat: "JSON", logGroup },
      "JSON logs into the cell's log group",
    );
    t.equal(
      fn.role,
      `arn:aws:iam::${ACCOUNT}:role/${id}-role-abc1234`,
      "runs with the cell's role",
    );
    const code = fn.code as pulumi.asset.AssetArchive;
    const assets = (await code.assets) as Record<string, pulumi.asset.FileAsset>;
    t.strictSame(Object.keys(assets), ["handler.js"], "the package holds handler.js only");
    t.equal(await assets["handler.js"]?.path, bundlePath, "handler.js is the bundle");

    const lg = input(resources, "aws:cloudwatch/logGroup:LogGroup");
    t.equal(lg.name, logGroup, "log group /aws/lambda/<function>");
    t.equal(lg.retentionInDays, 7, "log retention");

    const bucket = input(resources, "aws:s3/bucket:Bucket");
    t.equal(bucket.forceDestroy, true, "bucket is destroyed with its objects");
    t.strictSame(
      input(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
      {
        bucket: bucketName,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      "all public access blocked",
    );
    t.strictSame(
      input(
        resources,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      ),
      {
        bucket: bucketName,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      "default encryption SSE-S3",
    );
    const bucketPolicy = input(resources, "aws:s3/bucketPolicy:BucketPolicy");
    t.equal(bucketPolicy.bucket, bucketName, "policy on the cell's bucket");
    t.strictSame(
      parseJson(bucketPolicy.policy),
      {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      },
      "every non-TLS request is denied",
    );
    t.strictSame(
      input(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"),
      {
        bucket: bucketName,
        rules: [
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: { prefix: "" },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      "incomplete multipart uploads are aborted after 1 day",
    );

    const role = input(resources, "aws:iam/role:Role");
    t.strictSame(
      parseJson(role.assumeRolePolicy),
      {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      },
      "only Lambda may assume the role",
    );
    const rolePolicy = input(resources, "aws:iam/rolePolicy:RolePolicy");
    t.equal(rolePolicy.role, `${id}-role-abc1234`, "the policy is attached to the cell's role");
    t.strictSame(
      grants(parseJson(rolePolicy.policy)),
      [
        `Allow logs:CreateLogStream ${logGroupArn}:*`,
        `Allow logs:PutLogEvents ${logGroupArn}:*`,
        `Allow s3:AbortMultipartUpload ${bucketArn}/*`,
        `Allow s3:PutObject ${bucketArn}/*`,
      ],
      "the role grants object writes in this bucket and log writes in this log group, nothing else",
    );

    for (const [type, taggable] of Object.entries(CELL_TYPES)) {
      const inputs = input(resources, type);
      if (taggable) t.strictSame(inputs.tags, tags, `${type} carries the cell's tags`);
      else t.notOk("tags" in inputs, `${type} takes no tags`);
    }

    const fnCall = engineLog.indexOf(`call ${id}-fn`);
    for (const r of resources.values()) {
      if (r.name === `${id}-fn`) continue;
      t.ok(
        engineLog.indexOf(`done ${r.name}`) < fnCall,
        `the function is created after ${r.type} exists`,
      );
    }
  });
}

t.test("the log group outlives the stack: retained on destroy, with its retention", async (t) => {
  const c: Cell = { workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 10 };
  // The mock engine does not see resource options; a transformation on the component sees
  // every child's options as registered.
  const retained = new Map<string, boolean | undefined>();
  const { resources } = await deploy(
    "retain-check",
    ingestCellArgs(c, { ...settings, runTag: "a1b2c3" }, bundlePath),
    {
      transformations: [
        (a) => {
          retained.set(a.type, a.opts.retainOnDelete);
          return undefined;
        },
      ],
    },
  );
  t.equal(retained.get("aws:cloudwatch/logGroup:LogGroup"), true, "the log group is retained");
  t.same(
    [...retained].filter(
      ([type, keep]) => keep === true && type !== "aws:cloudwatch/logGroup:LogGroup",
    ),
    [],
    "nothing else is retained (the bucket, role and function go with the stack)",
  );
  const logGroup = input(resources, "aws:cloudwatch/logGroup:LogGroup");
  t.equal(logGroup.retentionInDays, 7, "its events still expire after a week");
  t.equal(
    logGroup.name,
    "/aws/lambda/s3-experiment-batch-512mb-p8mb-rc10-a1b2c3",
    "named after the run's tagged function, so a retained group never meets a later run's",
  );
});

t.test("a later deploy attempt names the function and its log group apart", async (t) => {
  const c: Cell = { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 };
  const { cell, resources } = await deploy(
    "attempt-check",
    ingestCellArgs(c, { ...settings, runTag: "a1b2c3" }, bundlePath, 3),
  );
  const name = "s3-experiment-events-512mb-b10-rc0-a1b2c3-3";
  t.equal(input(resources, "aws:lambda/function:Function").name, name, "the function");
  t.equal(
    input(resources, "aws:cloudwatch/logGroup:LogGroup").name,
    `/aws/lambda/${name}`,
    "its log group: not the retained group of attempts 1 and 2",
  );
  t.equal(await resolved(cell.functionName), name, "the functionName output");
  t.equal(await resolved(cell.logGroupName), `/aws/lambda/${name}`, "the logGroupName output");
  t.throws(
    () =>
      new IngestCell("attempt-bad", {
        ...ingestCellArgs(c, settings, bundlePath),
        deployAttempt: 0,
      }),
    {
      name: "InvalidInputError",
      message:
        "IngestCellArgs.deployAttempt=0 is invalid: allowed an integer from 1 to 99 (a cell redeployed more often needs a new run)",
    },
    "a bad attempt is refused",
  );
});

t.test("the program creates the cell under an explicit provider", async (t) => {
  const provider = new aws.Provider("explicit", { region: "eu-west-1" });
  const cell: Cell = { workload: "batch", memoryMb: 1024, multipartMb: 8, reservedConcurrency: 0 };
  const program = ingestCellProgram(cell, settings, {
    bundlePath,
    resourceOptions: { providers: [provider] },
  });
  t.equal(
    registered.filter((r) => r.name.startsWith("batch-1024mb-p8mb-rc0-")).length,
    0,
    "nothing is created before the program runs",
  );
  const outputs = await program();
  t.equal(
    await resolved(outputs.functionName),
    "s3-experiment-batch-1024mb-p8mb-rc0",
    "functionName",
  );
  t.equal(await resolved(outputs.bucketName), "batch-1024mb-p8mb-rc0-bucket-abc1234", "bucketName");
  t.equal(
    await resolved(outputs.logGroupName),
    "/aws/lambda/s3-experiment-batch-1024mb-p8mb-rc0",
    "logGroupName",
  );
  const children = registered.filter(
    (r) => r.name.startsWith("batch-1024mb-p8mb-rc0-") && r.type.startsWith("aws:"),
  );
  t.equal(children.length, Object.keys(CELL_TYPES).length, "every resource of the cell");
  for (const child of children) {
    t.match(
      child.provider,
      /::pulumi:providers:aws::explicit::explicit-id$/,
      `${child.type} uses the explicit provider`,
    );
  }
});

t.test("a missing handler bundle is reported before anything is created", async (t) => {
  const cell: Cell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 10 };
  const missing = join(bundleDir, "missing.js");
  const before = registered.length;
  t.throws(
    () => new IngestCell("missing-bundle", ingestCellArgs(cell, settings, missing)),
    {
      name: "InvalidInputError",
      message: `IngestCellArgs.bundlePath=${JSON.stringify(missing)} is invalid: allowed an existing handler bundle: run \`npm run build\` first`,
    },
    "names the path and the fix",
  );
  t.equal(registered.length, before, "nothing registered");
});

t.test("bad args and names are rejected with the field, value and what is allowed", async (t) => {
  const base: IngestCellArgs = {
    workload: "events",
    memoryMb: 512,
    batchEvents: 10,
    reservedConcurrency: 0,
    bundlePath,
  };
  const cases: [string, string, IngestCellArgs, string][] = [
    [
      "events without batchEvents",
      "no-factor",
      { ...base, batchEvents: undefined },
      "IngestCellArgs.batchEvents=(missing) is invalid: allowed an integer from 1 to 100000",
    ],
    [
      "batch with batchEvents",
      "wrong-factor",
      { ...base, workload: "batch", multipartMb: 8 },
      "IngestCellArgs.batchEvents=10 is invalid: allowed no value when IngestCellArgs.workload is batch (set IngestCellArgs.multipartMb instead)",
    ],
    [
      "a negative reserved concurrency",
      "negative-rc",
      { ...base, reservedConcurrency: -1 },
      "IngestCellArgs.reservedConcurrency=-1 is invalid: allowed an integer from 0 to 100000",
    ],
    [
      "a fractional memory",
      "fractional-memory",
      { ...base, memoryMb: 512.5 },
      "IngestCellArgs.memoryMb=512.5 is invalid: allowed an integer from 128 to 10240",
    ],
    [
      "an uppercase component name",
      "Events-Cell",
      base,
      `IngestCell name="Events-Cell" is invalid: allowed lowercase letters, digits and '-', at most ${MAX_CELL_NAME_LENGTH} characters (it names the bucket)`,
    ],
    [
      "a component name too long for a bucket",
      "a".repeat(MAX_CELL_NAME_LENGTH + 1),
      base,
      `IngestCell name="${"a".repeat(MAX_CELL_NAME_LENGTH + 1)}" is invalid: allowed lowercase letters, digits and '-', at most ${MAX_CELL_NAME_LENGTH} characters (it names the bucket)`,
    ],
  ];
  const before = registered.length;
  for (const [what, name, args, message] of cases) {
    t.throws(() => new IngestCell(name, args), { name: "InvalidInputError", message }, what);
  }
  t.equal(registered.length, before, "nothing registered for a rejected cell");
});
