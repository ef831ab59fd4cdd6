import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import t from "tap";
import { type LambdaRuntime, startLambdaRuntime } from "../../../local/lambda/runtime";
import { AWS_CLI, realClients, runClient } from "../../helpers/real-clients";

const FIXTURES = resolve(__dirname, "../../fixtures/lambda");

/** Runtime with emf, throws and slow functions, plus an isolated aws-cli pointed at it. */
async function setUp(t: tap.Test) {
  const dir = mkdtempSync(join(tmpdir(), "lambda-aws-cli-test-"));
  const rt: LambdaRuntime = await startLambdaRuntime({
    logDir: join(dir, "logs"),
    cpuScaling: "off",
  });
  const clients = realClients({
    endpoint: rt.endpoint,
    credentials: { accessKeyId: "AKIDCLI", secretAccessKey: "cli-secret" },
  });
  t.teardown(async () => {
    await rt.stop();
    clients.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const base = { memoryMb: 256, timeoutSeconds: 5, environment: {} };
  await rt.createFunction({
    ...base,
    functionName: "cli-emf",
    bundlePath: join(FIXTURES, "emf.js"),
  });
  await rt.createFunction({
    ...base,
    functionName: "cli-throws",
    bundlePath: join(FIXTURES, "throws.js"),
  });
  const out = join(dir, "out.json");
  // Throttles are outcomes here, as in the experiment: no CLI retries.
  const env = { ...clients.aws.env, AWS_MAX_ATTEMPTS: "1" };
  const invoke = (
    name: string,
    payload = '{"run_id":"run_1700000000000_cli001"}',
    ...extra: string[]
  ) =>
    runClient(
      AWS_CLI,
      [
        ...clients.aws.args,
        "--output",
        "json",
        "lambda",
        "invoke",
        "--function-name",
        name,
        "--cli-binary-format",
        "raw-in-base64-out",
        "--payload",
        payload,
        ...extra,
        out,
      ],
      env,
    );
  return { rt, invoke, out };
}

t.test(
  "aws lambda invoke with --log-type Tail gets the payload, the EMF line and REPORT",
  async (t) => {
    const { invoke, out } = await setUp(t);
    const run = await invoke("cli-emf", undefined, "--log-type", "Tail");
    t.equal(run.code, 0, `aws exits 0 ${run.stderr}`);
    const meta = JSON.parse(run.stdout);
    t.equal(meta.StatusCode, 200, "StatusCode 200");
    t.equal(meta.ExecutedVersion, "$LATEST", "ExecutedVersion");
    t.notOk("FunctionError" in meta, "no FunctionError");
    t.same(JSON.parse(readFileSync(out, "utf8")), { ok: true }, "payload written to the outfile");
    const log = Buffer.from(meta.LogResult, "base64").toString("utf8");
    t.match(log, /\n\{"_aws":\{.*"run_id":"run_1700000000000_cli001"\}\n/, "EMF line intact");
    t.match(
      log,
      /\nREPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\n$/,
      "REPORT",
    );
  },
);

t.test("aws lambda invoke of a failing handler reports FunctionError Unhandled", async (t) => {
  const { invoke, out } = await setUp(t);
  const run = await invoke("cli-throws");
  t.equal(run.code, 0, "the CLI succeeds: a function error is not an API error");
  t.equal(JSON.parse(run.stdout).FunctionError, "Unhandled", "FunctionError");
  t.match(
    JSON.parse(readFileSync(out, "utf8")),
    { errorType: "IngestFailed", errorMessage: "bucket exploded" },
    "error payload",
  );
});

t.test(
  "aws lambda invoke of an unknown function fails with ResourceNotFoundException",
  async (t) => {
    const { invoke } = await setUp(t);
    const run = await invoke("cli-missing");
    t.equal(run.code, 254, "aws exits 254 on a service error");
    t.match(
      run.stderr,
      "An error occurred (ResourceNotFoundException) when calling the Invoke operation",
      "the CLI names the error",
    );
    t.match(
      run.stderr,
      "Function not found: arn:aws:lambda:us-east-1:000000000000:function:cli-missing",
      "and Lambda's message",
    );
  },
);

t.test(
  "aws lambda invoke over the reserved concurrency is a TooManyRequestsException",
  async (t) => {
    const { rt, invoke } = await setUp(t);
    await rt.createFunction({
      functionName: "cli-slow",
      memoryMb: 256,
      timeoutSeconds: 5,
      environment: {},
      reservedConcurrency: 1,
      bundlePath: join(FIXTURES, "slow.js"),
    });
    const slow = '{"ms":5000}';
    const runs = await Promise.all([
      invoke("cli-slow", slow),
      invoke("cli-slow", slow),
      invoke("cli-slow", slow),
    ]);
    const throttled = runs.filter((r) => r.code !== 0);
    t.equal(throttled.length, 2, "two of three throttled");
    for (const r of throttled) {
      t.match(
        r.stderr,
        "(TooManyRequestsException) when calling the Invoke operation",
        "error code",
      );
      t.match(r.stderr, "Rate Exceeded.", "message");
    }
  },
);
