import { existsSync, readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import {
  type InvocationResponse,
  InvokeCommand,
  type LambdaClient,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";
import t from "tap";
import { isInvalidInputError } from "../../../core/errors";
import { parseLocalCpu } from "../../../local/lambda/cpu-meter";
import type { LocalFunctionDefinition } from "../../../local/lambda/runtime";
import { startTestRuntime } from "../../helpers/lambda-runtime";

const FIXTURES = resolve(__dirname, "../../fixtures/lambda");
const REPORT =
  /^REPORT RequestId: ([0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB\tMax Memory Used: (\d+) MB(\tInit Duration: \d+\.\d\d ms)?(\tStatus: \w+(\tError Type: [\w.]+)?)?$/;

function fixture(name: string): string {
  return join(FIXTURES, `${name}.js`);
}

function def(
  functionName: string,
  handler: string,
  extra: Partial<LocalFunctionDefinition> = {},
): LocalFunctionDefinition {
  return {
    functionName,
    memoryMb: 256,
    timeoutSeconds: 5,
    environment: {},
    bundlePath: fixture(handler),
    ...extra,
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function start(t: tap.Test, accountConcurrency?: number, cpuScaling: "auto" | "off" = "off") {
  return startTestRuntime(t, {
    cpuScaling,
    ...(accountConcurrency === undefined ? {} : { accountConcurrency }),
  });
}

function text(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString("utf8");
}

function tail(r: InvocationResponse): string {
  return Buffer.from(r.LogResult ?? "", "base64").toString("utf8");
}

function invoke(client: LambdaClient, name: string, payload: unknown = {}) {
  return client.send(
    new InvokeCommand({
      FunctionName: name,
      Payload: Buffer.from(JSON.stringify(payload)),
      LogType: "Tail",
    }),
  );
}

/** A raw HTTP request, to send what the SDK never would. */
function raw(
  endpoint: string,
  method: string,
  path: string,
  body = "",
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((done, fail) => {
    const req = request(`${endpoint}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        done({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", fail);
    req.end(body);
  });
}

t.test(
  "a successful invocation returns the handler's payload, context and Lambda's variables",
  async (t) => {
    process.env.CALLER_ONLY_CANARY = "leak";
    t.teardown(() => {
      delete process.env.CALLER_ONLY_CANARY;
    });
    const { rt, client } = await start(t);
    await rt.createFunction(
      def("echo-fn", "echo", { memoryMb: 512, environment: { CUSTOM_COLOR: "blue" } }),
    );
    const r = await invoke(client, "echo-fn", { hello: "world" });
    t.equal(r.StatusCode, 200, "status 200");
    t.equal(r.FunctionError, undefined, "no function error");
    t.equal(r.ExecutedVersion, "$LATEST", "executed version");
    const body = JSON.parse(text(r.Payload));
    t.same(body.event, { hello: "world" }, "event delivered");
    t.equal(body.context.functionName, "echo-fn", "context.functionName");
    t.equal(body.context.functionVersion, "$LATEST", "context.functionVersion");
    t.equal(
      body.context.memoryLimitInMB,
      "512",
      "context.memoryLimitInMB is a string, as on Lambda",
    );
    t.equal(
      body.context.invokedFunctionArn,
      "arn:aws:lambda:us-east-1:000000000000:function:echo-fn",
      "ARN",
    );
    t.equal(body.context.logGroupName, "/aws/lambda/echo-fn", "log group");
    t.match(
      body.context.logStreamName,
      /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/,
      "log stream name",
    );
    t.match(body.context.awsRequestId, /^[0-9a-f-]{36}$/, "request id");
    t.ok(
      body.remainingMs > 0 && body.remainingMs <= 5000,
      "getRemainingTimeInMillis within the timeout",
    );
    t.match(
      body.env,
      {
        AWS_LAMBDA_FUNCTION_NAME: "echo-fn",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/echo-fn",
        AWS_LAMBDA_LOG_STREAM_NAME: body.context.logStreamName,
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
        LAMBDA_TASK_ROOT: FIXTURES,
        TZ: ":UTC",
        CUSTOM_COLOR: "blue",
      },
      "Lambda's variables plus the function's",
    );
    t.notOk(
      body.envKeys.includes("CALLER_ONLY_CANARY"),
      "the caller's environment does not leak in",
    );
  },
);

t.test("the Tail log result holds the EMF line intact and the REPORT line", async (t) => {
  const { rt, client } = await start(t);
  await rt.createFunction(def("emf-fn", "emf"));
  const r = await invoke(client, "emf-fn", { run_id: "run_1700000000000_abc123" });
  const lines = tail(r).trimEnd().split("\n");
  t.match(lines[0], /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/, "START first");
  const emf = lines.find((l) => l.startsWith('{"_aws"'));
  t.ok(emf, "EMF line present");
  t.match(
    JSON.parse(emf ?? "{}"),
    { run_id: "run_1700000000000_abc123", function_name: "emf-fn" },
    "EMF parses",
  );
  t.match(lines.at(-2), /^END RequestId: /, "END before REPORT");
  t.match(lines.at(-1), REPORT, "REPORT last, in Lambda's format");
  t.equal(
    r.$metadata.requestId,
    REPORT.exec(lines.at(-1) ?? "")?.[1],
    "x-amzn-RequestId is the invocation's request id",
  );
});

t.test(
  "reserved concurrency 2 with 5 simultaneous invocations gives exactly 3 throttles",
  async (t) => {
    const { rt, client } = await start(t);
    await rt.createFunction(def("slow-fn", "slow", { reservedConcurrency: 2 }));
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => invoke(client, "slow-fn", { ms: 2000 })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const throttled = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason as unknown] : [],
    );
    t.equal(ok.length, 2, "two invocations run");
    t.equal(throttled.length, 3, "three are throttled");
    for (const e of throttled) {
      t.ok(e instanceof TooManyRequestsException, "TooManyRequestsException");
      t.match(
        e,
        {
          name: "TooManyRequestsException",
          Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
          Type: "User",
          message: "Rate Exceeded.",
          $metadata: { httpStatusCode: 429 },
        },
        "Lambda's throttle shape",
      );
    }
  },
);

t.test(
  "unreserved functions share the account limit and throttle with ConcurrentInvocationLimitExceeded",
  async (t) => {
    const { rt, client } = await start(t, 1);
    t.equal(rt.accountConcurrency, 1, "account limit as configured");
    await rt.createFunction(def("slow-a", "slow"));
    await rt.createFunction(def("slow-b", "slow"));
    const [a, b] = await Promise.allSettled([
      invoke(client, "slow-a", { ms: 1500 }),
      invoke(client, "slow-b", { ms: 1500 }),
    ]);
    t.equal(a?.status, "fulfilled", "first takes the only slot");
    t.match(
      b?.status === "rejected" ? b.reason : undefined,
      { name: "TooManyRequestsException", Reason: "ConcurrentInvocationLimitExceeded" },
      "second is throttled by the account limit",
    );
  },
);

t.test("an unknown function is a 404 ResourceNotFoundException", async (t) => {
  const { client } = await start(t);
  await t.rejects(invoke(client, "no-such-fn"), {
    name: "ResourceNotFoundException",
    message: "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-fn",
    $metadata: { httpStatusCode: 404 },
  });
});

t.test(
  "a handler error is a 200 with X-Amz-Function-Error: Unhandled and Lambda's error payload",
  async (t) => {
    const { rt, client } = await start(t);
    await rt.createFunction(def("throws-fn", "throws"));
    const r = await invoke(client, "throws-fn");
    t.equal(r.StatusCode, 200, "status 200");
    t.equal(r.FunctionError, "Unhandled", "function error header");
    const body = JSON.parse(text(r.Payload));
    t.equal(body.errorType, "IngestFailed", "errorType is the error's name");
    t.equal(body.errorMessage, "bucket exploded", "errorMessage");
    t.match(body.trace[0], /^IngestFailed: bucket exploded/, "trace is the stack as lines");
    t.match(
      tail(r),
      /\tERROR\tInvoke Error \t\{"errorType":"IngestFailed"/,
      "error logged as Lambda logs it",
    );
    const again = await invoke(client, "throws-fn");
    t.notMatch(tail(again), /Init Duration/, "the environment survives a handler error (warm)");
  },
);

t.test(
  "exceeding the memory size ends the environment and reports Runtime.OutOfMemory",
  async (t) => {
    const { rt, client } = await start(t);
    await rt.createFunction(def("oom-fn", "oom", { memoryMb: 128, timeoutSeconds: 30 }));
    const r = await invoke(client, "oom-fn");
    t.equal(r.FunctionError, "Unhandled", "function error");
    const body = JSON.parse(text(r.Payload));
    t.equal(body.errorType, "Runtime.OutOfMemory", "errorType");
    t.equal(
      body.errorMessage,
      `RequestId: ${r.$metadata.requestId} Error: Runtime exited with error: signal: killed`,
      "errorMessage",
    );
    const report = tail(r).trimEnd().split("\n").at(-1) ?? "";
    t.match(report, REPORT, "REPORT format");
    t.match(
      report,
      /\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t.*Status: error\tError Type: Runtime\.OutOfMemory$/,
      "REPORT says OOM",
    );
    t.same(rt.environmentPids(), [], "the environment is gone");
  },
);

t.test(
  "a timeout ends the environment and reports 'Task timed out after N.00 seconds'",
  async (t) => {
    const { rt, client } = await start(t);
    await rt.createFunction(def("timeout-fn", "timeout", { timeoutSeconds: 1 }));
    const r = await invoke(client, "timeout-fn");
    t.equal(r.FunctionError, "Unhandled", "function error");
    t.same(
      JSON.parse(text(r.Payload)),
      {
        errorType: "Sandbox.Timedout",
        errorMessage: `RequestId: ${r.$metadata.requestId} Error: Task timed out after 1.00 seconds`,
      },
      "Lambda's timeout payload",
    );
    const log = tail(r);
    t.match(
      log,
      new RegExp(`\\n\\S+Z ${r.$metadata.requestId} Task timed out after 1\\.00 seconds\\nEND`),
      "timeout line before END",
    );
    t.match(log, /\tStatus: timeout\n$/, "REPORT status timeout");
    t.same(rt.environmentPids(), [], "the environment is gone");
  },
);

t.test(
  "the first invocation is a cold start with Init Duration, the second reuses the warm environment",
  async (t) => {
    const { rt, client } = await start(t);
    await rt.createFunction(def("warm-fn", "echo"));
    const first = await invoke(client, "warm-fn");
    const second = await invoke(client, "warm-fn");
    const a = JSON.parse(text(first.Payload));
    const b = JSON.parse(text(second.Payload));
    t.match(tail(first), /\tInit Duration: \d+\.\d\d ms\n$/, "cold start reports Init Duration");
    t.notMatch(tail(second), /Init Duration/, "warm start does not");
    t.equal(b.pid, a.pid, "same process");
    t.equal(b.initializedAt, a.initializedAt, "module initialised once");
    t.equal(b.context.logStreamName, a.context.logStreamName, "same log stream");
    t.same(rt.environmentPids(), [a.pid], "one warm environment");
  },
);

t.test(
  "the log store holds START, function lines, END and REPORT per environment stream",
  async (t) => {
    const { rt, client, logDir } = await start(t);
    await rt.createFunction(def("logged-fn", "emf"));
    const before = Date.now();
    const r = await invoke(client, "logged-fn");
    const id = r.$metadata.requestId ?? "";
    const events = await rt.logs.getLogEvents("/aws/lambda/logged-fn", { startMs: before });
    t.same(
      events.map((e) => e.message.replace(/\{.*\}/, "{EMF}").replace(/\t.*/, "")),
      [
        `START RequestId: ${id} Version: $LATEST`,
        "{EMF}",
        `END RequestId: ${id}`,
        `REPORT RequestId: ${id}`,
      ],
      "four events in order",
    );
    const streams = new Set(events.map((e) => e.logStreamName));
    t.equal(streams.size, 1, "one stream");
    t.ok(
      events.every((e) => e.timestamp >= before && e.timestamp <= Date.now()),
      "timestamps of the invocation",
    );
    t.same(
      await rt.logs.getLogEvents("/aws/lambda/logged-fn", { endMs: before - 1 }),
      [],
      "range excludes earlier",
    );
    t.ok(
      existsSync(join(logDir, encodeURIComponent("/aws/lambda/logged-fn"))),
      "persisted under logDir",
    );
  },
);

t.test("malformed requests get Lambda's error shape and the server keeps serving", async (t) => {
  const { rt, client } = await start(t);
  await rt.createFunction(def("echo-fn", "echo"));
  const path = "/2015-03-31/functions/echo-fn/invocations";
  const badJson = await raw(rt.endpoint, "POST", path, "{not json");
  t.equal(badJson.status, 400, "bad JSON is 400");
  t.equal(
    badJson.headers["x-amzn-errortype"],
    "InvalidRequestContentException",
    "error type header",
  );
  t.match(
    JSON.parse(badJson.body),
    { Type: "User", message: /^Could not parse request body into json/ },
    "body",
  );

  const big = await raw(rt.endpoint, "POST", path, `"${"x".repeat(6 * 1024 * 1024)}"`);
  t.equal(big.status, 413, "payload over 6 MB is 413");
  t.equal(big.headers["x-amzn-errortype"], "RequestTooLargeException", "error type header");

  const badType = await raw(rt.endpoint, "POST", path, "{}", {
    "X-Amz-Invocation-Type": "Sometimes",
  });
  t.equal(badType.status, 400, "bad invocation type is 400");
  t.equal(
    badType.headers["x-amzn-errortype"],
    "InvalidParameterValueException",
    "error type header",
  );

  const badName = await raw(
    rt.endpoint,
    "POST",
    "/2015-03-31/functions/%E0%A4%A/invocations",
    "{}",
  );
  t.equal(badName.status, 400, "undecodable name is 400");

  const unknown = await raw(rt.endpoint, "DELETE", "/nothing/here");
  t.equal(unknown.status, 404, "unknown route is 404");
  t.equal(unknown.headers["x-amzn-errortype"], "UnknownOperationException", "error type header");

  const dry = await raw(rt.endpoint, "POST", path, "{}", { "X-Amz-Invocation-Type": "DryRun" });
  t.equal(dry.status, 204, "DryRun is 204");
  t.same(rt.environmentPids(), [], "DryRun starts no environment");

  const r = await invoke(client, "echo-fn", { still: "alive" });
  t.same(JSON.parse(text(r.Payload)).event, { still: "alive" }, "server still answers");
});

t.test(
  "createFunction rejects bad definitions with InvalidInputError and duplicates with a conflict",
  async (t) => {
    const { rt } = await start(t);
    await t.rejects(rt.createFunction(def("zero-rc", "echo", { reservedConcurrency: 0 })), {
      name: "InvalidInputError",
      message:
        "reservedConcurrency=0 is invalid: allowed an integer ≥ 1, or undefined for unreserved",
    });
    await t.rejects(rt.createFunction(def("bad name!", "echo")), { name: "InvalidInputError" });
    await t.rejects(rt.createFunction(def("rel", "echo", { bundlePath: "echo.js" })), {
      name: "InvalidInputError",
    });
    await t.rejects(rt.createFunction(def("mem", "echo", { memoryMb: 64 })), {
      name: "InvalidInputError",
    });
    await rt.createFunction(def("dup", "echo"));
    await t.rejects(rt.createFunction(def("dup", "echo")), { name: "ResourceConflictException" });
    await t.rejects(rt.deleteFunction("never-created"), { name: "ResourceNotFoundException" });
    t.same(rt.listFunctions(), ["dup"], "only the valid one is registered");
    t.notOk(isInvalidInputError(new Error("x")), "sanity: plain errors are not InvalidInputError");
  },
);

t.test("deleteFunction and stop end every environment process", async (t) => {
  const { rt, client } = await start(t);
  await rt.createFunction(def("a-fn", "echo"));
  await rt.createFunction(def("b-fn", "echo"));
  const a = JSON.parse(text((await invoke(client, "a-fn")).Payload)).pid as number;
  const b = JSON.parse(text((await invoke(client, "b-fn")).Payload)).pid as number;
  t.ok(pidAlive(a) && pidAlive(b), "both environments are warm");
  await rt.deleteFunction("a-fn");
  t.notOk(pidAlive(a), "deleting a function ends its environment");
  await t.rejects(
    invoke(client, "a-fn"),
    { name: "ResourceNotFoundException" },
    "deleted function is gone",
  );
  await rt.stop();
  await rt.stop();
  t.notOk(pidAlive(b), "stop ends the rest");
  t.same(rt.environmentPids(), [], "no environments left");
});

t.test(
  "with CPU scaling emulated, each environment runs under a quota of memory/1769 of a CPU",
  async (t) => {
    const { rt, client } = await start(t, undefined, "auto");
    if (!rt.cpuScalingEmulated) {
      t.pass("this machine has no writable cpu cgroup controller: cpuScalingEmulated is false");
      return;
    }
    await rt.createFunction(def("cpu-fn", "echo", { memoryMb: 512 }));
    const pid = JSON.parse(text((await invoke(client, "cpu-fn")).Payload)).pid as number;
    const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .find((l) => /s3x-lambda-\d+\/env-/.test(l));
    t.ok(line, "environment is in its own cgroup");
    const relative = (line ?? "").split(":")[2] ?? "";
    const v1 = join("/sys/fs/cgroup/cpu", relative, "cpu.cfs_quota_us");
    const v2 = join("/sys/fs/cgroup", relative, "cpu.max");
    const quota = existsSync(v1)
      ? readFileSync(v1, "utf8").trim()
      : readFileSync(v2, "utf8").trim().split(" ")[0];
    t.equal(quota, "28943", "512 MB gets 28,943 µs per 100 ms");
  },
);

t.test(
  "each response carries x-amz-local-cpu: the CPU the environment got against its quota",
  async (t) => {
    const { rt, client } = await start(t, undefined, "auto");
    await rt.createFunction(def("spin-fn", "spin", { memoryMb: 512 }));
    await invoke(client, "spin-fn", { ms: 1 });
    const res = await new Promise<{ headers: Record<string, unknown> }>((resolveRes, reject) => {
      const req = request(
        `${rt.endpoint}/2015-03-31/functions/spin-fn/invocations`,
        { method: "POST" },
        (r) => {
          r.resume();
          r.on("end", () => resolveRes({ headers: r.headers }));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ ms: 500 }));
    });
    const cpu = parseLocalCpu(res.headers["x-amz-local-cpu"] as string | undefined);
    t.ok(cpu, "the header parses");
    if (cpu === undefined) return;
    t.ok(cpu.host_busy_share !== undefined, "the host's busy share is known on Linux");
    t.equal(cpu.host_saturated, (cpu.host_busy_share ?? 0) >= 0.9, "saturated at ≥ 90 % busy");
    // A busy loop for 500 ms of wall time gets at most its quota (0.29 of a core) when CPU
    // scaling is emulated, at most a core otherwise; some scheduling slack either way.
    const cap = rt.cpuScalingEmulated ? 1.25 : 1769 / 512 + 0.25;
    t.ok(
      cpu.cpu_ms > 0 && cpu.quota_share <= cap,
      `${cpu.cpu_ms} ms of CPU, ${cpu.quota_share} of the quota (≤ ${cap})`,
    );
    // Only judged on a host with cores to spare: a shared machine may leave none.
    if (rt.cpuScalingEmulated && (cpu.host_busy_share ?? 1) < 0.7) {
      t.ok(cpu.quota_share >= 0.6, `a host with spare cores gives the quota (${cpu.quota_share})`);
    }
  },
);

t.test(
  "with network emulation each environment reaches S3_ENDPOINT through its own throttled proxy",
  async (t) => {
    const upstream = createServer((req, res) => {
      const size = Number((req.url ?? "/0").slice(1));
      res.writeHead(200, { "content-length": size });
      res.end(Buffer.alloc(size, 7));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    t.teardown(() => new Promise<void>((r) => upstream.close(() => r())));
    const s3 = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    // 80 Mbit/s = 10 MB/s; 50 ms before each response.
    const { rt, client } = await startTestRuntime(t, { network: { mbps: 80, s3LatencyMs: 50 } });
    t.same(rt.network, { mbps: 80, s3LatencyMs: 50 }, "the runtime says what it emulates");
    await rt.createFunction(def("net-fn", "fetch-s3", { environment: { S3_ENDPOINT: s3 } }));
    const out = JSON.parse(
      text((await invoke(client, "net-fn", { path: "/2000000" })).Payload),
    ) as { endpoint: string; status: number; bytes: number; ms: number };
    t.not(out.endpoint, s3, "the environment sees its proxy, not the server");
    t.match(out.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "on loopback");
    t.equal(out.bytes, 2_000_000, "every byte arrives");
    t.ok(out.ms >= 50 + 150, `2 MB at 10 MB/s plus 50 ms took ${out.ms} ms ≥ 200 ms`);
  },
);

t.test(
  "an idle environment is reaped after idleTimeoutMs and the next invocation is cold again",
  async (t) => {
    const { rt, client } = await startTestRuntime(t, { idleTimeoutMs: 200 });
    await rt.createFunction(def("reaped-fn", "echo"));
    const first = JSON.parse(text((await invoke(client, "reaped-fn")).Payload)).pid as number;
    for (let i = 0; i < 100 && rt.environmentPids().length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.same(rt.environmentPids(), [], "the idle environment was ended");
    t.notOk(pidAlive(first), "its process is gone");
    const again = await invoke(client, "reaped-fn");
    t.match(tail(again), /\tInit Duration: /, "the next invocation is a cold start");
  },
);
