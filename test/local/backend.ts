import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { startLocalBackend } from "../../local/backend";

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
  "the local backend starts S3 and Lambda on loopback with state under dataDir, and stops both",
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "local-backend-test-"));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const backend = await startLocalBackend({ dataDir, accountConcurrency: 7, cpuScaling: "off" });
    t.match(backend.s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "S3 on loopback");
    t.match(backend.runtime.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/, "Lambda on loopback");
    t.equal(backend.runtime.accountConcurrency, 7, "account concurrency passed through");
    t.equal(backend.runtime.cpuScalingEmulated, false, "cpu scaling off as asked");
    t.equal(backend.runtime.region, backend.s3.region, "one region");
    t.equal(backend.s3.dataDir, join(dataDir, "s3"), "S3 data under dataDir");
    t.ok(existsSync(join(dataDir, "logs")), "log store under dataDir");
    await backend.stop();
    await backend.stop();
    t.ok(await refuses(backend.s3.endpoint), "S3 stopped");
    t.ok(await refuses(backend.runtime.endpoint), "Lambda stopped");
  },
);
