import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { arrivalSeed, poissonSchedule } from "../../automation/arrivals";
import {
  type InvokeClient,
  invokeOnce,
  invokeOpenRun,
  invokeRun,
  lambdaClientFor,
  type OpenLoopClock,
  reachedFunction,
  requestTimeoutMs,
} from "../../automation/invoker";
import type { Cell } from "../../core/cell";
import type { DeployedCell } from "../../core/deployer";
import type { InvocationRecord } from "../../core/run-files";

const cell: Cell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 10 };
const RUN = "run_1700000000000_abc123";

/** A tiny Lambda Invoke API: holds each request `holdMs`, throttles above `reserved` in flight. */
function lambdaServer(reserved: number, holdMs: number) {
  let inFlight = 0;
  let peak = 0;
  let hits = 0;
  const payloads: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits++;
      payloads.push(Buffer.concat(chunks).toString());
      const id = `req-${hits}`;
      if (req.url === "/2015-03-31/functions/local-cpu/invocations") {
        res.writeHead(200, {
          "x-amzn-requestid": id,
          "x-amz-local-cpu":
            '{"cpu_ms":12.5,"quota_share":0.8123,"host_busy_share":0.95,"host_saturated":true,"source":"schedstat"}',
          "content-type": "application/json",
        });
        res.end('{"ok":true}');
        return;
      }
      if (req.url === "/2015-03-31/functions/broken/invocations") {
        const tail = `START RequestId: ${id}\nEND RequestId: ${id}\nREPORT RequestId: ${id}\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\tMax Memory Used: 60 MB\n`;
        res.writeHead(200, {
          "x-amzn-requestid": id,
          "x-amz-function-error": "Unhandled",
          "x-amz-log-result": Buffer.from(tail).toString("base64"),
          "content-type": "application/json",
        });
        res.end('{"errorType":"Error","errorMessage":"boom"}');
        return;
      }
      if (inFlight >= reserved) {
        res.writeHead(429, {
          "x-amzn-requestid": id,
          "x-amzn-errortype": "TooManyRequestsException",
          "retry-after": "1",
          "content-type": "application/json",
        });
        res.end(
          JSON.stringify({
            Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
            Type: "User",
            message: "Rate Exceeded.",
          }),
        );
        return;
      }
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        const tail = `START RequestId: ${id}\nEND RequestId: ${id}\nREPORT RequestId: ${id}\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 512 MB\tMax Memory Used: 61 MB\tInit Duration: 100.00 ms\n`;
        res.writeHead(200, {
          "x-amzn-requestid": id,
          "x-amz-log-result": Buffer.from(tail).toString("base64"),
          "content-type": "application/json",
        });
        res.end('{"ok":true}');
      }, holdMs);
    });
  });
  return {
    server,
    stats: () => ({ hits, payloads, peak }),
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
  };
}

function deployed(endpoint: string, fn = "fn"): DeployedCell {
  return {
    cellId: "events-512mb-b1-rc10",
    functionName: fn,
    bucket: "b",
    logGroup: `/aws/lambda/${fn}`,
    region: "us-east-1",
    endpoints: { lambda: endpoint },
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
  };
}

t.test(
  "offered concurrency is bounded, throttles are recorded with their Reason and never retried",
  async (t) => {
    const s = lambdaServer(3, 150);
    const endpoint = await s.listen();
    t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
    const d = deployed(endpoint);
    const client = lambdaClientFor(d, cell, 5);
    t.teardown(() => client.destroy());
    const seen: InvocationRecord[] = [];
    const records = await invokeRun(
      client,
      { cell, deployed: d, runId: RUN, trial: 2, invocations: 12, concurrency: 5 },
      (r) => seen.push(r),
    );
    const { hits, payloads } = s.stats();
    t.equal(records.length, 12, "one record per invocation");
    t.equal(seen.length, 12, "each record reported as it completes");
    t.equal(hits, 12, "12 requests: no retries of throttles");
    const throttled = records.filter((r) => r.throttled);
    t.ok(throttled.length > 0, "offered 5 against reserved 3 throttles some");
    t.equal(
      records.filter(reachedFunction).length + throttled.length,
      12,
      "every record is reached or throttled",
    );
    const th = throttled[0];
    t.equal(th?.status_code, 429, "429");
    t.equal(
      th?.throttle_reason,
      "ReservedFunctionConcurrentInvocationLimitExceeded",
      "Reason kept",
    );
    t.equal(th?.retry_after_s, 1, "Retry-After kept");
    t.equal(th?.error, undefined, "a throttle is not an error");
    const ok = records.find((r) => !r.throttled);
    t.same(
      ok?.report,
      {
        duration_ms: 5,
        billed_duration_ms: 5,
        memory_size_mb: 512,
        max_memory_used_mb: 61,
        init_duration_ms: 100,
      },
      "REPORT parsed from the tail",
    );
    t.match(ok?.request_id, /^req-\d+$/, "request id from the response");
    t.same(
      records.map((r) => r.seq),
      [...Array(12).keys()],
      "records in sequence order",
    );
    t.same(
      new Set(payloads),
      new Set([JSON.stringify({ run_id: RUN })]),
      "payload carries the run id",
    );
    t.equal(ok?.trial, 2, "trial recorded");
    t.notOk(
      ok !== undefined && ("local_cpu_ms" in ok || "host_saturated" in ok),
      "no local CPU fields without the local runtime's header (as on AWS)",
    );
  },
);

t.test(
  "the local runtime's x-amz-local-cpu header becomes the record's local fields",
  async (t) => {
    const s = lambdaServer(10, 0);
    const endpoint = await s.listen();
    t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
    const d = deployed(endpoint, "local-cpu");
    const client = lambdaClientFor(d, cell, 5);
    t.teardown(() => client.destroy());
    const r = await invokeOnce(
      client,
      { cell, deployed: d, runId: RUN, trial: 1, invocations: 1, concurrency: 1 },
      0,
    );
    t.match(
      r,
      {
        status_code: 200,
        local_cpu_ms: 12.5,
        local_cpu_quota_share: 0.8123,
        host_busy_share: 0.95,
        host_saturated: true,
      },
      "the four optional fields",
    );
  },
);

t.test("a function error is recorded from X-Amz-Function-Error", async (t) => {
  const s = lambdaServer(10, 0);
  const endpoint = await s.listen();
  t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
  const d = deployed(endpoint, "broken");
  const client = lambdaClientFor(d, cell, 5);
  t.teardown(() => client.destroy());
  const r = await invokeOnce(
    client,
    { cell, deployed: d, runId: RUN, trial: 1, invocations: 1, concurrency: 1 },
    0,
  );
  t.equal(r.status_code, 200, "200 with a function error");
  t.equal(r.function_error, "Unhandled", "function error kept");
  t.equal(r.report?.billed_duration_ms, 2, "report still parsed");
  t.ok(reachedFunction(r), "a failed invocation still reached the function");
});

t.test("a refused connection is a client error with status 0", async (t) => {
  const s = lambdaServer(1, 0);
  const endpoint = await s.listen();
  await new Promise<void>((r) => s.server.close(() => r()));
  const d = deployed(endpoint);
  const client = lambdaClientFor(d, cell, 5);
  t.teardown(() => client.destroy());
  const r = await invokeOnce(
    client,
    { cell, deployed: d, runId: RUN, trial: 1, invocations: 1, concurrency: 1 },
    0,
  );
  t.equal(r.status_code, 0, "no response");
  t.equal(r.throttled, false, "not a throttle");
  t.match(r.error, /ECONNREFUSED/, "the connection error is recorded");
  t.notOk(reachedFunction(r), "did not reach the function");
});

/** A virtual clock: sleeping advances it at once. */
function virtualClock(startMs: number): OpenLoopClock & { sleeps: number[] } {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms) {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** A client whose calls all stay in flight until `release()`. */
function heldClient(): InvokeClient & { release(): void; sent: number } {
  const waiting: (() => void)[] = [];
  const c = {
    sent: 0,
    send() {
      c.sent++;
      return new Promise<unknown>((resolve) =>
        waiting.push(() => resolve({ StatusCode: 200, $metadata: { httpStatusCode: 200 } })),
      );
    },
    release() {
      for (const w of waiting.splice(0)) w();
    },
  };
  return c;
}

t.test(
  "open loop: each arrival is sent at its scheduled time while the earlier ones are still in flight",
  async (t) => {
    const offsets = poissonSchedule(20, 1, arrivalSeed(1, 1));
    const clock = virtualClock(1_700_000_000_000);
    const client = heldClient();
    const d = deployed("http://127.0.0.1:1");
    const run = { cell, deployed: d, runId: RUN, trial: 1, invocations: 0, concurrency: 0 };
    const done = invokeOpenRun(client, run, offsets, 1000, () => undefined, undefined, clock);
    // Let the schedule run: every sleep resolves at once, no call ever returns.
    for (let i = 0; i < 100 && client.sent < offsets.length; i++) await Promise.resolve();
    t.equal(client.sent, 23, "all 23 arrivals sent while none has returned");
    client.release();
    const result = await done;
    t.equal(result.peakInFlight, 23, "23 in flight at once");
    t.equal(result.dropped, 0, "nothing dropped under the limit");
    t.same(
      result.records.map((r) => r.scheduled_ms),
      offsets.map((o) => Math.round(1_700_000_000_000 + o)),
      "scheduled_ms = start + the seeded Poisson offsets",
    );
    t.equal(result.records[0]?.scheduled_ms, 1_700_000_000_017, "first arrival 16.98 ms in");
    t.same(
      result.records.map((r) => r.seq),
      [...offsets.keys()],
      "one record per arrival, in order",
    );
  },
);

t.test("open loop: arrivals beyond the in-flight limit are dropped and counted", async (t) => {
  const offsets = [0, 10, 20, 30, 40];
  const client = heldClient();
  const run = {
    cell,
    deployed: deployed("http://127.0.0.1:1"),
    runId: RUN,
    trial: 1,
    invocations: 0,
    concurrency: 0,
  };
  const done = invokeOpenRun(client, run, offsets, 2, () => undefined, undefined, virtualClock(0));
  for (let i = 0; i < 100; i++) await Promise.resolve();
  client.release();
  const result = await done;
  t.equal(client.sent, 2, "two sent");
  t.equal(result.dropped, 3, "three dropped at the limit of 2");
  t.equal(result.scheduled, 5, "five scheduled");
  t.same(
    result.records.map((r) => r.seq),
    [0, 1],
    "the dropped arrivals have no record",
  );
});

t.test(
  "open loop on a real endpoint: 20/s for 1 s against a 300 ms function sends on time, overlapping",
  async (t) => {
    const s = lambdaServer(100, 300);
    const endpoint = await s.listen();
    t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
    const d = deployed(endpoint);
    const client = lambdaClientFor(d, cell, 1000);
    t.teardown(() => client.destroy());
    const offsets = poissonSchedule(20, 1, arrivalSeed(1, 1));
    const result = await invokeOpenRun(
      client,
      { cell, deployed: d, runId: RUN, trial: 1, invocations: 0, concurrency: 0, warmup: true },
      offsets,
      1000,
      () => undefined,
    );
    t.equal(result.records.length, 23, "every arrival sent");
    t.equal(s.stats().hits, 23, "and received");
    const first = result.records[0]?.scheduled_ms ?? 0;
    for (const r of result.records) {
      const planned = (offsets[r.seq] ?? 0) - (offsets[0] ?? 0);
      t.ok(
        Math.abs((r.scheduled_ms ?? 0) - first - planned) <= 1,
        `seq ${r.seq}: scheduled ${(r.scheduled_ms ?? 0) - first} ms after the first, planned ${planned.toFixed(1)}`,
      );
      const late = r.client_start_ms - (r.scheduled_ms ?? 0);
      t.ok(late >= 0 && late < 50, `seq ${r.seq}: sent ${late} ms after its time`);
      t.equal(r.warmup, true, "the run's warmup flag is on its records");
    }
    t.ok(result.peakInFlight >= 4, `overlapping calls (peak ${result.peakInFlight} in flight)`);
    t.ok(
      result.records.every((r) => r.status_code === 200),
      "each one answered 200 (reserved 100 never binds)",
    );
  },
);

t.test("the client keeps more than the SDK's default 50 sockets' worth in flight", async (t) => {
  const s = lambdaServer(1000, 400);
  const endpoint = await s.listen();
  t.teardown(() => new Promise<void>((r) => s.server.close(() => r())));
  const d = deployed(endpoint);
  const client = lambdaClientFor(d, cell, 80);
  t.teardown(() => client.destroy());
  const records = await invokeRun(
    client,
    { cell, deployed: d, runId: RUN, trial: 1, invocations: 80, concurrency: 80 },
    () => undefined,
  );
  t.equal(records.filter(reachedFunction).length, 80, "all 80 answered");
  t.equal(s.stats().peak, 80, "80 at once at the function, not 50");
});

/**
 * A Lambda Invoke API that answers nobody until `target` requests are in flight at once (or
 * `giveUpMs` passed), then everybody: the peak it saw is the client's real concurrency.
 */
function barrierServer(target: number, giveUpMs: number) {
  let inFlight = 0;
  let peak = 0;
  const waiting: (() => void)[] = [];
  let released = false;
  const releaseAll = (): void => {
    released = true;
    for (const release of waiting.splice(0)) release();
  };
  const timer = setTimeout(releaseAll, giveUpMs);
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      waiting.push(() => {
        inFlight--;
        res.writeHead(200, {
          "x-amzn-requestid": `req-${peak}`,
          "content-type": "application/json",
        });
        res.end("{}");
      });
      if (released || inFlight >= target) {
        clearTimeout(timer);
        releaseAll();
      }
    });
  });
  return {
    peak: () => peak,
    close: () => {
      clearTimeout(timer);
      releaseAll();
      return new Promise<void>((r) => server.close(() => r()));
    },
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
  };
}

t.test(
  "--concurrency 60 means 60 invocations in flight, beyond the SDK's 50 sockets",
  async (t) => {
    const s = barrierServer(60, 5000);
    const endpoint = await s.listen();
    t.teardown(() => s.close());
    const d = deployed(endpoint);
    const client = lambdaClientFor(d, cell, 60);
    t.teardown(() => client.destroy());
    const started = Date.now();
    const records = await invokeRun(
      client,
      { cell, deployed: d, runId: RUN, trial: 1, invocations: 60, concurrency: 60 },
      () => undefined,
    );
    t.equal(s.peak(), 60, "the server saw 60 requests at once");
    t.ok(Date.now() - started < 5000, "released by the 60th request, not by the give-up timer");
    t.equal(records.filter(reachedFunction).length, 60, "all 60 answered 200");
  },
);

// Without an enforced timeout this would hang: the test's own limit turns that into a failure.
t.test(
  "a hung response ends in a TimeoutError record at the request timeout",
  { timeout: 20_000 },
  async (t) => {
    const server = createServer((req) => req.resume()); // reads the request, never answers
    const endpoint = await new Promise<string>((resolve) =>
      server.listen(0, "127.0.0.1", () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      ),
    );
    t.teardown(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const d = deployed(endpoint);
    const client = lambdaClientFor(d, cell, 1, 300);
    t.teardown(() => client.destroy());
    const r = await invokeOnce(
      client,
      { cell, deployed: d, runId: RUN, trial: 1, invocations: 1, concurrency: 1 },
      0,
    );
    const took = r.client_end_ms - r.client_start_ms;
    t.match(
      r.error,
      /^TimeoutError: @smithy\/node-http-handler - \[ERROR\] a request has exceeded the configured 300 ms requestTimeout\./,
      "the timeout is an error record, not a warning",
    );
    t.ok(took >= 300 && took < 3000, `ended at the timeout (${took} ms)`);
    t.equal(r.status_code, 0, "no response");
    t.notOk(reachedFunction(r), "not counted as reaching the function");
  },
);

t.test("the client's request timeout is the function timeout plus 30 s", async (t) => {
  t.equal(requestTimeoutMs(cell), 90_000, "events: 60 s + 30 s");
  t.equal(
    requestTimeoutMs({ workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 0 }),
    930_000,
    "batch: 900 s + 30 s",
  );
});
