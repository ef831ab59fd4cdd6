import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import {
  DEFAULT_PRICING,
  insightsScanCost,
  lambdaComputeCost,
  lambdaRequestCost,
  loadPricing,
  logsIngestCost,
  parsePricing,
  s3PutCost,
  s3PutRequests,
  s3StorageCost,
} from "../../core/pricing";

t.test("costs follow the published unit prices", async (t) => {
  t.equal(lambdaComputeCost(1000, 1024, "x86_64"), 0.0000166667, "1 GB-s on x86_64");
  t.equal(lambdaComputeCost(2000, 512, "arm64"), 0.0000133334, "2 s at 512 MB on arm64 is 1 GB-s");
  t.equal(lambdaRequestCost(1_000_000), 0.2, "$0.20 per million requests");
  t.equal(s3PutRequests(0), 1, "a PutObject is one request");
  t.equal(s3PutRequests(13), 15, "a multipart upload is parts + 2 requests");
  t.equal(s3PutCost(1000), 0.005, "$0.005 per 1,000 PUTs");
  t.equal(logsIngestCost(1024 ** 3), 0.5, "$0.50 per GB ingested");
  t.equal(insightsScanCost(2 * 1024 ** 3), 0.01, "$0.005 per GB scanned");
  t.equal(s3StorageCost(1024 ** 3, 720), 0.023, "one GB for a 30-day month");
});

t.test("a pricing override replaces only the fields it names", async (t) => {
  const p = parsePricing(
    { lambdaRequest: 0, lambdaGbSecond: { arm64: 1 }, asOf: "2027-01-01" },
    "--pricing f",
  );
  t.equal(p.lambdaRequest, 0, "overridden");
  t.same(
    p.lambdaGbSecond,
    { arm64: 1, x86_64: DEFAULT_PRICING.lambdaGbSecond.x86_64 },
    "partial nested override",
  );
  t.equal(p.s3PutRequest, DEFAULT_PRICING.s3PutRequest, "kept");
  t.throws(
    () => parsePricing({ s3PutRequest: -1 }, "--pricing f"),
    { message: "--pricing f s3PutRequest=-1 is invalid: allowed a number ≥ 0 (USD)" },
    "negative price",
  );
  t.throws(
    () => parsePricing({ glacier: 1 }, "--pricing f"),
    { message: /^--pricing f key="glacier" is invalid: allowed one of region, asOf/ },
    "unknown key",
  );
});

t.test("a pricing file is read, and a bad one is refused by name", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pricing-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, "p.json");
  writeFileSync(good, JSON.stringify({ logsIngestGb: 0.6 }));
  t.equal(loadPricing(good).logsIngestGb, 0.6, "file read");
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "{");
  t.throws(
    () => loadPricing(bad),
    {
      name: "InvalidInputError",
      message: new RegExp(`^--pricing="${bad}" is invalid: allowed valid JSON`),
    },
    "broken JSON",
  );
  t.throws(
    () => loadPricing(join(dir, "none.json")),
    { message: /allowed a readable JSON file/ },
    "missing file",
  );
});
