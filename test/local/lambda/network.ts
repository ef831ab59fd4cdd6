import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import {
  bytesPerSecond,
  DEFAULT_NETWORK,
  setProxyWorkerReporter,
  startS3Proxy,
  stopProxyWorkerForTest,
  validateNetwork,
} from "../../../local/lambda/network";
import { TokenBucket } from "../../../local/lambda/network-proxy";

/** An upstream that answers GET /n with n bytes and PUT with the byte count it read. */
async function upstream(t: tap.Test): Promise<string> {
  const server = createServer((req, res) => {
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
    });
    req.on("end", () => {
      const size = req.method === "GET" ? Number((req.url ?? "/0").slice(1)) : 0;
      res.writeHead(200, { "content-length": req.method === "GET" ? size : String(n).length });
      res.end(req.method === "GET" ? Buffer.alloc(size, 1) : String(n));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function send(
  endpoint: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolveRes, reject) => {
    const req = request(`${endpoint}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolveRes({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks),
          ms: performance.now() - started,
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

t.test("the defaults are Lambda's ≈ 625 Mbit/s (78 MB/s) and 20 ms per request", async (t) => {
  t.same(DEFAULT_NETWORK, { mbps: 625, s3LatencyMs: 20 }, "defaults");
  t.equal(bytesPerSecond(625), 78_125_000, "78.125 MB/s");
});

t.test("bad values name the input and what is allowed", async (t) => {
  t.throws(() => validateNetwork({ mbps: 0, s3LatencyMs: 0 }, "--local-network-mbps"), {
    message:
      "--local-network-mbps.mbps=0 is invalid: allowed a number of Mbit/s above 0, at most 100000",
  });
  t.throws(() => validateNetwork({ s3LatencyMs: -1 }), {
    message: "network.s3LatencyMs=-1 is invalid: allowed a number of ms from 0 to 10000",
  });
});

t.test("a token bucket never lets more through than its rate after the burst", async (t) => {
  const rate = 20e6;
  const bucket = new TokenBucket(rate);
  const started = performance.now();
  const total = 4e6;
  await Promise.all(Array.from({ length: 40 }, () => bucket.take(total / 40)));
  const s = (performance.now() - started) / 1000;
  const floor = (total - bucket.burst) / rate;
  t.ok(s >= floor * 0.95, `4 MB at 20 MB/s took ${s.toFixed(3)} s ≥ ${floor.toFixed(3)} s`);
});

t.test("the proxy passes bytes intact, at the ceiling, with the latency per request", async (t) => {
  const target = await upstream(t);
  // 80 Mbit/s = 10 MB/s each way; 100 ms before each response.
  const proxy = await startS3Proxy(target, { mbps: 80, s3LatencyMs: 100 });
  t.teardown(() => proxy.close());
  t.not(proxy.endpoint, target, "its own port");
  const small = await send(proxy.endpoint, "GET", "/10");
  t.equal(small.body.length, 10, "a small body arrives intact");
  t.ok(small.ms >= 99, `a small request waits the latency (${small.ms.toFixed(1)} ms)`);
  const down = await send(proxy.endpoint, "GET", "/3000000");
  t.equal(down.body.length, 3_000_000, "3 MB down intact");
  t.ok(down.ms >= 100 + 250, `3 MB down at 10 MB/s: ${down.ms.toFixed(0)} ms ≥ 350 ms`);
  const up = await send(proxy.endpoint, "PUT", "/", Buffer.alloc(3_000_000, 2));
  t.equal(up.body.toString(), "3000000", "3 MB up, all received");
  t.ok(up.ms >= 100 + 250, `3 MB up at 10 MB/s: ${up.ms.toFixed(0)} ms ≥ 350 ms`);
  const cont = await send(proxy.endpoint, "PUT", "/", Buffer.alloc(1000, 3), {
    expect: "100-continue",
  });
  t.equal(cont.body.toString(), "1000", "Expect: 100-continue goes through");
});

t.test("without a ceiling the proxy only adds the latency", async (t) => {
  const target = await upstream(t);
  const proxy = await startS3Proxy(target, { s3LatencyMs: 0 });
  t.teardown(() => proxy.close());
  const r = await send(proxy.endpoint, "GET", "/1000000");
  t.equal(r.body.length, 1_000_000, "1 MB intact");
});

t.test(
  "the latency runs from the request's end: a slow server's own time is part of it",
  async (t) => {
    // Answers after 150 ms, so a 100 ms latency counted from the request's end adds nothing;
    // added after the answer instead, it would make ≥ 250 ms.
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => setTimeout(() => res.end("late"), 150));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const proxy = await startS3Proxy(target, { s3LatencyMs: 100 });
    t.teardown(() => proxy.close());
    const r = await send(proxy.endpoint, "GET", "/");
    t.equal(r.body.toString(), "late", "the answer arrives");
    t.ok(
      r.ms >= 149 && r.ms < 240,
      `150 ms server time under a 100 ms latency: ${r.ms.toFixed(0)} ms`,
    );
    const direct = await startS3Proxy(await upstream(t), { s3LatencyMs: 100 });
    t.teardown(() => direct.close());
    const fast = await send(direct.endpoint, "GET", "/10");
    t.ok(fast.ms >= 99, `a fast server's answer still waits the latency: ${fast.ms.toFixed(0)} ms`);
  },
);

t.test(
  "a stopped proxy worker is reported once, its proxies are no longer alive, a new one serves",
  async (t) => {
    const lines: string[] = [];
    const previous = setProxyWorkerReporter((l) => lines.push(l));
    t.teardown(() => {
      setProxyWorkerReporter(previous);
    });
    const target = await upstream(t);
    const before = await startS3Proxy(target, { s3LatencyMs: 0 });
    t.equal(before.alive, true, "alive while its worker runs");
    t.equal((await send(before.endpoint, "GET", "/10")).body.length, 10, "it serves");
    await stopProxyWorkerForTest();
    t.equal(before.alive, false, "not alive once its worker stopped");
    t.same(
      lines,
      [
        "local Lambda runtime: the S3 network proxy worker stopped (exit code 1); environments behind its proxies are discarded and cold-start again",
      ],
      "one line says what happened and what follows",
    );
    await t.rejects(
      send(before.endpoint, "GET", "/10"),
      { code: "ECONNREFUSED" },
      "its port is gone",
    );
    const timeout = new Promise<string>((r) => setTimeout(() => r("close never settled"), 2000));
    t.equal(
      await Promise.race([
        before.close().then(
          () => "settled",
          () => "settled",
        ),
        timeout,
      ]),
      "settled",
      "closing a proxy of a stopped worker settles at once",
    );
    const after = await startS3Proxy(target, { s3LatencyMs: 0 });
    t.teardown(() => after.close());
    t.equal(after.alive, true, "a new worker starts on the next use");
    t.equal((await send(after.endpoint, "GET", "/10")).body.length, 10, "and serves");
  },
);
