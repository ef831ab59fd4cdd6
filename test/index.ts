import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import t from "tap";
import { HANDLER_BUNDLE, PROJECT_ROOT } from "../core/paths";
import { CONFIG_NAMESPACE, readCellConfig } from "../infra/cell-config";

const created: { type: string; name: string }[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name });
      const inputs = args.inputs as Record<string, unknown>;
      const state: Record<string, unknown> = { ...inputs, arn: `arn:mock:${args.name}` };
      if (args.type === "aws:s3/bucket:Bucket") state.bucket = `${args.name}-abc1234`;
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      return args.inputs;
    },
  },
  "s3ingest",
  "dev",
);

/** The flat `config:` map of a stack file (quoted or bare scalars, `#` comments). */
function stackConfig(file: string): Record<string, string> {
  const config: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^ {2}([\w-]+:[\w-]+):\s*(.*?)\s*$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    config[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return config;
}

type Program = () => Promise<Record<string, pulumi.Output<string>>>;

/** Loads index.ts afresh under the given stack config (a module that threw is not cached). */
function loadIndex(config: Record<string, string>): Program {
  pulumi.runtime.setAllConfig(config);
  const indexPath = require.resolve("../index");
  delete require.cache[indexPath];
  return require(indexPath) as Program;
}

function resolved<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply((v) => done(v)));
}

const devConfig = stackConfig(resolve(PROJECT_ROOT, "Pulumi.dev.yaml"));

t.test("Pulumi.yaml names the project after the config namespace, TypeScript on", async (t) => {
  const project = readFileSync(resolve(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
  t.match(project, new RegExp(`^name: ${CONFIG_NAMESPACE}$`, "m"), "project name");
  t.match(project, /^ {2}name: nodejs$/m, "nodejs runtime");
  t.match(project, /^ {4}typescript: true$/m, "TypeScript");
});

t.test("the dev stack's config is one valid events cell", async (t) => {
  t.strictSame(
    readCellConfig(devConfig),
    {
      cell: { workload: "events", memoryMb: 1024, batchEvents: 10, reservedConcurrency: 0 },
      settings: {
        eventBytes: 1024,
        objectMb: 100,
        architecture: "arm64",
        namePrefix: "",
        region: "us-east-1",
      },
    },
    "the cell of Pulumi.dev.yaml",
  );
});

t.test("a bad config stops index.ts before any resource, naming the key", async (t) => {
  const before = created.length;
  let thrown: unknown;
  try {
    loadIndex({ ...devConfig, "s3ingest:memoryMb": "100" });
  } catch (e: unknown) {
    thrown = e;
  }
  t.ok(pulumi.RunError.isInstance(thrown), "a RunError: Pulumi prints its message without a stack");
  t.equal(
    thrown instanceof Error ? thrown.message : thrown,
    's3ingest:memoryMb="100" is invalid: allowed an integer from 128 to 10240',
    "the message names key, value and what is allowed",
  );
  t.throws(
    () => loadIndex({ ...devConfig, "s3ingest:workload": "batch" }),
    {
      message:
        's3ingest:batchEvents="10" is invalid: allowed no value when s3ingest:workload is batch (set s3ingest:multipartMb instead)',
    },
    "switching the workload alone is caught",
  );
  t.equal(created.length, before, "nothing created");
});

t.test("index.ts deploys the configured cell and exports its outputs", async (t) => {
  if (!existsSync(HANDLER_BUNDLE)) {
    // `npm test` builds first; a lone `npx tap test/index.ts` may not have.
    execFileSync(process.execPath, [resolve(PROJECT_ROOT, "scripts", "build-handler.js")]);
  }
  const program = loadIndex(devConfig);
  t.equal(created.length, 0, "loading index.ts creates nothing: Pulumi runs the program");
  const outputs = await program();
  t.strictSame(
    Object.keys(outputs).sort(),
    ["bucketName", "functionArn", "functionName", "logGroupName"],
    "stack outputs",
  );
  const { functionName, bucketName, logGroupName } = outputs;
  if (functionName === undefined || bucketName === undefined || logGroupName === undefined) {
    throw new Error("missing outputs");
  }
  t.equal(await resolved(functionName), "s3-experiment-events-1024mb-b10-rc0", "functionName");
  t.equal(await resolved(bucketName), "events-1024mb-b10-rc0-bucket-abc1234", "bucketName");
  t.equal(
    await resolved(logGroupName),
    "/aws/lambda/s3-experiment-events-1024mb-b10-rc0",
    "logGroupName",
  );
  t.ok(
    created.some(
      (r) => r.type === "s3ingest:experiment:IngestCell" && r.name === "events-1024mb-b10-rc0",
    ),
    "one IngestCell named after the cell",
  );
});
