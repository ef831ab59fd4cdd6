import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeLogStreamsCommand } from "@aws-sdk/client-cloudwatch-logs";
import t from "tap";
import { startLocalBackend } from "../../local/backend";
import { LogStore } from "../../local/lambda/log-store";
import { localLogsClient } from "../../local/logs";

function refuses(endpoint: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request(endpoint, { method: "GET" }, (res) => {
      res.resume();
      done(false);
    });
    req.on("error", () => done(true));
    req.end();
  });
}

t.test(
  "the local backend starts S3, Lambda and CloudWatch Logs on loopback with state under dataDir, and stops them all",
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "local-backend-test-"));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const backend = await startLocalBackend({ dataDir, accountConcurrency: 7, cpuScaling: "off" });
    t.match(backend.s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "S3 on loopback");
    t.match(backend.runtime.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "Lambda on loopback");
    t.match(backend.logs.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "CloudWatch Logs on loopback");
    t.equal(backend.logs.region, backend.runtime.region, "Logs in the runtime's region");
    t.equal(backend.runtime.accountConcurrency, 7, "account concurrency passed through");
    t.equal(backend.runtime.cpuScalingEmulated, false, "cpu scaling off as asked");
    t.same(
      backend.runtime.network,
      { mbps: 625, s3LatencyMs: 20 },
      "Lambda's network to S3 emulated by default",
    );
    t.equal(backend.runtime.region, backend.s3.region, "one region");
    t.equal(backend.s3.dataDir, join(dataDir, "s3"), "S3 data under dataDir");
    t.ok(existsSync(join(dataDir, "logs")), "log store under dataDir");
    await backend.stop();
    await backend.stop();
    t.ok(await refuses(backend.s3.endpoint), "S3 stopped");
    t.ok(await refuses(backend.runtime.endpoint), "Lambda stopped");
    t.ok(await refuses(backend.logs.endpoint), "Logs stopped");
  },
);

t.test("network emulation off: the functions reach S3 directly", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "local-backend-test-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const backend = await startLocalBackend({ dataDir, cpuScaling: "off", network: "off" });
  t.teardown(() => backend.stop());
  t.equal(backend.runtime.network, undefined, "no emulation");
});

t.test("the Logs server reads the runtime's log store under dataDir", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "local-backend-test-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const backend = await startLocalBackend({ dataDir, cpuScaling: "off" });
  t.teardown(() => backend.stop());
  new LogStore(join(dataDir, "logs")).append("/aws/lambda/f", "2026/01/01/[$LATEST]ab", [
    { timestamp: 5, message: "hello" },
  ]);
  const client = localLogsClient(backend.logs.endpoint, backend.logs.region);
  t.teardown(() => client.destroy());
  const out = await client.send(new DescribeLogStreamsCommand({ logGroupName: "/aws/lambda/f" }));
  t.same(
    out.logStreams?.map((s) => [s.logStreamName, s.lastEventTimestamp]),
    [["2026/01/01/[$LATEST]ab", 5]],
    "the stream the runtime's store holds",
  );
});
