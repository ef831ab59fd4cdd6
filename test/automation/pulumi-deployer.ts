import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import t, { type Test } from "tap";
import {
  type AutomationSeam,
  PulumiDeployer,
  pulumiAwsVersion,
  type StackArgs,
  type StackHandle,
} from "../../automation/pulumi-deployer";
import { PASSPHRASE_FILE, resolvePassphrase } from "../../automation/pulumi-env";
import { type Cell, type CellSettings, cellId } from "../../core/cell";

// The inline program runs against Pulumi's mock engine: no CLI, no AWS.
pulumi.runtime.setMocks(
  {
    async newResource(args) {
      const inputs = args.inputs as Record<string, unknown>;
      switch (args.type) {
        case "aws:s3/bucket:Bucket":
          return {
            id: `${args.name}-abc1234`,
            state: { ...inputs, bucket: `${args.name}-abc1234` },
          };
        case "aws:lambda/function:Function":
        case "aws:cloudwatch/logGroup:LogGroup":
          return {
            id: String(inputs.name),
            state: { ...inputs, arn: `arn:aws:x:::${inputs.name}` },
          };
        default:
          return {
            id: `${args.name}-id`,
            state: { ...inputs, arn: `arn:aws:x:::${args.name}`, name: args.name },
          };
      }
    },
    call: (args) => args.inputs,
  },
  "s3-ingestion-experiment",
  "test",
);

function resolveOutput(v: unknown): Promise<unknown> {
  return pulumi.Output.isInstance(v)
    ? new Promise((resolve) => (v as pulumi.Output<unknown>).apply((x) => resolve(x)))
    : Promise.resolve(v);
}

const cell: Cell = { workload: "batch", memoryMb: 1024, multipartMb: 32, reservedConcurrency: 10 };
const settings: CellSettings = {
  eventBytes: 1024,
  objectMb: 100,
  architecture: "arm64",
  namePrefix: "",
  region: "eu-west-1",
};

/** A fake Automation API that records the lifecycle and runs `up` under the mocks. */
function fakeSeam(o: { hangUp?: boolean } = {}) {
  const calls: string[] = [];
  const stacks: StackArgs[] = [];
  const seam: AutomationSeam = {
    async installPlugin(name, version) {
      calls.push(`installPlugin ${name} ${version}`);
    },
    async createOrSelectStack(args) {
      calls.push(`createOrSelectStack ${args.stackName}`);
      stacks.push(args);
      const handle: StackHandle = {
        async setConfig(key, value) {
          calls.push(`setConfig ${key}=${value}`);
        },
        async up(onOutput, signal) {
          calls.push("up");
          onOutput("Updating (stack):\n");
          if (o.hangUp === true) {
            // As the CLI does on its one SIGINT: a graceful cancel, then a failed exit.
            await new Promise<void>((_, reject) => {
              signal?.addEventListener("abort", () => {
                calls.push("SIGINT to up");
                reject(new Error("update canceled"));
              });
            });
          }
          const outputs = (await args.program()) as Record<string, unknown>;
          const values: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(outputs)) values[k] = await resolveOutput(v);
          return values;
        },
        async destroy(onOutput) {
          calls.push("destroy");
          onOutput("Destroying (stack):\n");
        },
        async remove() {
          calls.push(`removeStack ${args.stackName}`);
        },
      };
      return handle;
    },
  };
  return { seam, calls, stacks };
}

function tempRun(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "pulumi-deployer-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("the lifecycle: plugin once, create, config, up, outputs, destroy, remove", async (t) => {
  const runDir = tempRun(t);
  const { seam, calls, stacks } = fakeSeam();
  const d = new PulumiDeployer({
    runDir,
    runName: "20261123T000000-aws",
    settings,
    passphrase: { value: "secret", source: "env" },
    seam,
    env: { AWS_PROFILE: "lab", SECRET_TOKEN: "x" },
  });
  await d.prepare();
  const deployed = await d.deploy(cell);
  await d.destroy(cell);
  const name = `20261123T000000-aws-${cellId(cell)}`;
  t.same(
    calls,
    [
      `installPlugin aws v${pulumiAwsVersion()}`,
      `createOrSelectStack ${name}`,
      "setConfig aws:region=eu-west-1",
      "up",
      "destroy",
      `removeStack ${name}`,
    ],
    "calls in order",
  );
  t.same(
    deployed,
    {
      cellId: cellId(cell),
      functionName: "s3-experiment-batch-1024mb-p32mb-rc10",
      bucket: `${cellId(cell)}-bucket-abc1234`,
      logGroup: "/aws/lambda/s3-experiment-batch-1024mb-p32mb-rc10",
      region: "eu-west-1",
      endpoints: {},
    },
    "the IngestCell program's outputs become the DeployedCell",
  );
  const args = stacks[0];
  t.equal(args?.projectName, "s3-ingestion-experiment", "project name");
  t.equal(args?.workDir, join(runDir, ".pulumi-work", name), "one work dir per stack");
  t.equal(
    args?.envVars.PULUMI_BACKEND_URL,
    `file://${join(runDir, ".pulumi-state")}`,
    "file state backend in the run dir",
  );
  t.equal(args?.envVars.PULUMI_CONFIG_PASSPHRASE, "secret", "passphrase provider");
  t.equal(args?.envVars.AWS_PROFILE, "lab", "AWS settings pass through");
  t.equal(args?.envVars.SECRET_TOKEN, undefined, "other variables do not");
  t.equal(
    readFileSync(join(runDir, "logs", `${cellId(cell)}.log`), "utf8"),
    "Updating (stack):\nDestroying (stack):\n",
    "Pulumi output goes to the cell's log file",
  );
});

t.test(
  "a redeploy of the cell (--resume) runs the program for that attempt: new names",
  async (t) => {
    const runDir = tempRun(t);
    const { seam, calls } = fakeSeam();
    const d = new PulumiDeployer({
      runDir,
      runName: "r",
      settings: { ...settings, runTag: "k3x9q2" },
      passphrase: { value: "p", source: "env" },
      seam,
    });
    const first = await d.deploy(cell);
    await d.destroy(cell);
    const second = await d.deploy(cell, undefined, 2);
    t.same(
      [first.functionName, first.logGroup],
      [
        "s3-experiment-batch-1024mb-p32mb-rc10-k3x9q2",
        "/aws/lambda/s3-experiment-batch-1024mb-p32mb-rc10-k3x9q2",
      ],
      "the first attempt's names",
    );
    t.same(
      [second.functionName, second.logGroup],
      [
        "s3-experiment-batch-1024mb-p32mb-rc10-k3x9q2-2",
        "/aws/lambda/s3-experiment-batch-1024mb-p32mb-rc10-k3x9q2-2",
      ],
      "the second attempt's: the first's retained log group is not created again",
    );
    t.same(
      calls.filter((c) => c.startsWith("createOrSelectStack")),
      [
        "createOrSelectStack r-batch-1024mb-p32mb-rc10",
        "createOrSelectStack r-batch-1024mb-p32mb-rc10",
      ],
      "the same stack name both times (the ledger's resource)",
    );
  },
);

t.test("an abort during up reaches up's signal, with no stack.cancel()", async (t) => {
  const runDir = tempRun(t);
  const { seam, calls } = fakeSeam({ hangUp: true });
  const d = new PulumiDeployer({
    runDir,
    runName: "r",
    settings,
    passphrase: { value: "p", source: "env" },
    seam,
  });
  const controller = new AbortController();
  const deploying = d.deploy(cell, controller.signal);
  await new Promise((r) => setTimeout(r, 20));
  controller.abort(new Error("interrupted by SIGINT"));
  await t.rejects(deploying, { message: "update canceled" }, "up ends with the cancellation");
  t.same(
    calls.slice(-2),
    ["up", "SIGINT to up"],
    "the run's abort is the signal of up (one SIGINT to the CLI)",
  );
  await d.destroy(cell);
  t.same(
    calls.slice(-2),
    ["destroy", "removeStack r-batch-1024mb-p32mb-rc10"],
    "destroy still works afterwards",
  );
});

t.test(
  "the passphrase comes from the environment, else is generated once into the run dir",
  async (t) => {
    const runDir = tempRun(t);
    t.same(
      resolvePassphrase(runDir, { PULUMI_CONFIG_PASSPHRASE: "env-pass" }),
      { value: "env-pass", source: "env" },
      "env wins",
    );
    t.notOk(existsSync(join(runDir, PASSPHRASE_FILE)), "no file written when the env has one");
    const first = resolvePassphrase(runDir, {});
    const second = resolvePassphrase(runDir, {});
    t.equal(first.source, join(runDir, PASSPHRASE_FILE), "saved in the run dir");
    t.equal(first.value.length, 48, "48 hex characters");
    t.equal(second.value, first.value, "reused on resume");
    t.equal(statSync(first.source).mode & 0o777, 0o600, "readable by the owner only");
  },
);
