import t from "tap";
import { type PreflightApi, peakReservedConcurrency, preflight } from "../../automation/preflight";
import { parseMatrix } from "../../core/matrix";

const cells = parseMatrix("workload=events,memory=512,batch=1"); // rc 0, 10, 50

function api(
  o: Partial<{ pulumi: Error; sts: Error; limit: number; unreserved: number }> = {},
): PreflightApi {
  return {
    async pulumiVersion() {
      if (o.pulumi) throw o.pulumi;
      return "v3.200.0";
    },
    async callerIdentity() {
      if (o.sts) throw o.sts;
      return { account: "123456789012", arn: "arn:aws:iam::123456789012:user/x" };
    },
    async accountSettings() {
      return {
        concurrentExecutions: o.limit ?? 1000,
        unreservedConcurrentExecutions: o.unreserved ?? o.limit ?? 1000,
      };
    },
  };
}

t.test("peak reserved concurrency is the sum of the largest P levels", async (t) => {
  t.equal(peakReservedConcurrency(cells, 1), 50, "one at a time");
  t.equal(peakReservedConcurrency(cells, 2), 60, "two at a time");
});

t.test("a healthy account passes and is reported", async (t) => {
  const r = await preflight(api(), "us-east-1", cells, 2);
  t.same(
    r,
    {
      pulumi: "v3.200.0",
      account: "123456789012",
      arn: "arn:aws:iam::123456789012:user/x",
      concurrentExecutions: 1000,
      unreservedConcurrentExecutions: 1000,
      peakReserved: 60,
    },
    "report",
  );
});

t.test("each failing check is a clear PreflightError", async (t) => {
  const enoent = Object.assign(new Error("spawn pulumi ENOENT"), { name: "Error" });
  await t.rejects(
    preflight(api({ pulumi: enoent }), "us-east-1", cells, 1),
    {
      name: "PreflightError",
      message:
        'the Pulumi CLI is not usable ("pulumi version" failed: Error: spawn pulumi ENOENT); install it (https://www.pulumi.com/docs/install/) and put it on PATH',
    },
    "no Pulumi CLI",
  );
  const denied = Object.assign(
    new Error("The security token included in the request is invalid."),
    { name: "InvalidClientTokenId" },
  );
  await t.rejects(
    preflight(api({ sts: denied }), "us-east-1", cells, 1),
    {
      name: "PreflightError",
      message:
        "AWS credentials are not valid (STS GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid.); configure them (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    },
    "bad credentials",
  );
  await t.rejects(
    preflight(api({ limit: 10 }), "us-east-1", cells, 1),
    {
      name: "PreflightError",
      message:
        'the account\'s Lambda concurrency limit in us-east-1 is 10: reserved concurrency cannot be set at all (100 must stay unreserved). Request a higher "Concurrent executions" quota in Service Quotas, or run only unreserved cells (--matrix with rc=0)',
    },
    "a new account with limit 10",
  );
  await t.rejects(
    preflight(api({ limit: 1000, unreserved: 150 }), "us-east-1", cells, 2),
    {
      name: "PreflightError",
      message:
        "reserved concurrency of 60 (the 2 cell(s) deployed at once) would leave 90 of 150 unreserved in us-east-1; at least 100 must stay unreserved. Lower --parallel or raise the account's quota",
    },
    "not enough unreserved",
  );
  await t.rejects(
    preflight(api(), " ", cells, 1),
    { name: "PreflightError", message: "no AWS region: pass --region (e.g. --region us-east-1)" },
    "no region",
  );
});

t.test("unreserved-only cells pass on a limit-10 account", async (t) => {
  const r = await preflight(
    api({ limit: 10 }),
    "us-east-1",
    parseMatrix("workload=events,rc=0"),
    1,
  );
  t.equal(r.peakReserved, 0, "nothing reserved");
});
