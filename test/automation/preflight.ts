import t from "tap";
import { offeredConcurrency } from "../../automation/estimate";
import {
  offeredLoad,
  type PreflightApi,
  peakReservedConcurrency,
  peakUnreservedDemand,
  preflight,
} from "../../automation/preflight";
import type { Cell } from "../../core/cell";
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
  const r = await preflight(api(), "us-east-1", cells, 2, 20);
  t.same(
    r,
    {
      pulumi: "v3.200.0",
      account: "123456789012",
      arn: "arn:aws:iam::123456789012:user/x",
      concurrentExecutions: 1000,
      unreservedConcurrentExecutions: 1000,
      peakReserved: 60,
      peakUnreserved: 70,
    },
    "report",
  );
});

t.test("each failing check is a clear PreflightError", async (t) => {
  const enoent = Object.assign(new Error("spawn pulumi ENOENT"), { name: "Error" });
  await t.rejects(
    preflight(api({ pulumi: enoent }), "us-east-1", cells, 1, 20),
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
    preflight(api({ sts: denied }), "us-east-1", cells, 1, 20),
    {
      name: "PreflightError",
      message:
        "AWS credentials are not valid (STS GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid.); configure them (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    },
    "bad credentials",
  );
  await t.rejects(
    preflight(api({ limit: 10 }), "us-east-1", cells, 1, 20),
    {
      name: "PreflightError",
      message:
        'the account\'s Lambda concurrency limit in us-east-1 is 10: reserved concurrency cannot be set at all (100 must stay unreserved). Request a higher "Concurrent executions" quota in Service Quotas, or run only unreserved cells (--matrix with rc=0) with --parallel × --concurrency ≤ 10',
    },
    "a new account with limit 10",
  );
  await t.rejects(
    preflight(api({ limit: 1000, unreserved: 150 }), "us-east-1", cells, 2, 20),
    {
      name: "PreflightError",
      message:
        "reserved concurrency of 60 (the 2 cell(s) deployed at once) would leave 90 of 150 unreserved in us-east-1; at least 100 must stay unreserved. Lower --parallel or raise the account's quota",
    },
    "not enough unreserved",
  );
  await t.rejects(
    preflight(api(), " ", cells, 1, 20),
    { name: "PreflightError", message: "no AWS region: pass --region (e.g. --region us-east-1)" },
    "no region",
  );
});

t.test("unreserved-only cells pass on a limit-10 account at --concurrency 10", async (t) => {
  const r = await preflight(
    api({ limit: 10 }),
    "us-east-1",
    parseMatrix("workload=events,rc=0"),
    1,
    10,
  );
  t.equal(r.peakReserved, 0, "nothing reserved");
  t.equal(r.peakUnreserved, 10, "one cell offered 10");
});

t.test(
  "the unreserved pool must hold --parallel × --concurrency of unreserved cells",
  async (t) => {
    const unreserved = parseMatrix("workload=events,rc=0"); // 27 cells, all rc 0
    await t.rejects(
      preflight(api({ limit: 10 }), "us-east-1", unreserved, 1, 20),
      {
        name: "PreflightError",
        message:
          '1 cell(s) without reserved concurrency deployed at once (--parallel 1) × --concurrency 20 = 20 concurrent executions but the unreserved pool in us-east-1 holds 10 (account limit 10): the account, not the function, would throttle them. Lower --concurrency or --parallel, or request a higher "Concurrent executions" quota in Service Quotas',
      },
      "an account limited to 10 cannot take the default --concurrency 20",
    );
    await t.rejects(
      preflight(api({ limit: 100 }), "us-east-1", unreserved, 3, 40),
      {
        name: "PreflightError",
        message:
          '3 cell(s) without reserved concurrency deployed at once (--parallel 3) × --concurrency 40 = 120 concurrent executions but the unreserved pool in us-east-1 holds 100 (account limit 100): the account, not the function, would throttle them. Lower --concurrency or --parallel, or request a higher "Concurrent executions" quota in Service Quotas',
      },
      "three at once need 120",
    );
    const r = await preflight(api({ limit: 120 }), "us-east-1", unreserved, 3, 40);
    t.equal(r.peakUnreserved, 120, "exactly the pool passes");
  },
);

t.test("reserved cells deployed beside unreserved ones take from the same pool", async (t) => {
  // rc 0, 10, 50 with 2 at once and --concurrency 30: worst is one unreserved cell (30)
  // beside the rc-50 cell, 80 of the pool; 50 + 10 reserved leaves 100 of 160 unreserved.
  t.same(
    peakUnreservedDemand(cells, 2, 30),
    { cells: 1, executions: 30, reservedBeside: 50 },
    "the worst mix",
  );
  t.same(
    peakUnreservedDemand(cells, 2, 60),
    { cells: 1, executions: 60, reservedBeside: 50 },
    "the same mix at a higher concurrency",
  );
  t.same(
    peakUnreservedDemand(parseMatrix("workload=events,rc=10|50"), 2, 30),
    { cells: 0, executions: 0, reservedBeside: 0 },
    "no unreserved cell, no demand",
  );
  await t.rejects(
    preflight(api({ limit: 1000, unreserved: 170 }), "us-east-1", cells, 2, 130),
    {
      name: "PreflightError",
      message:
        '1 cell(s) without reserved concurrency deployed at once (--parallel 2) × --concurrency 130 = 130 concurrent executions, beside 50 reserved by the cell(s) deployed with them, but the unreserved pool in us-east-1 holds 170 (account limit 1000): the account, not the function, would throttle them. Lower --concurrency or --parallel, or request a higher "Concurrent executions" quota in Service Quotas',
    },
    "130 + 50 does not fit in 170",
  );
});

t.test(
  "under the open loop the unreserved pool must hold the offered concurrency, not --concurrency",
  async (t) => {
    const batch: Cell = {
      workload: "batch",
      memoryMb: 512,
      multipartMb: 8,
      reservedConcurrency: 0,
    };
    const events: Cell = {
      workload: "events",
      memoryMb: 512,
      batchEvents: 1,
      reservedConcurrency: 0,
    };
    const open = { model: "open", arrival_rate_per_s: 50, duration_s: 60 } as const;
    // Modelled durations (estimate.ts): batch 2 × 50 ms + 100 MiB at 78 MB/s ≈ 1444.3 ms, events
    // 50 ms + 1 KiB of CPU ≈ 50.07 ms; × 50/s, rounded up.
    t.equal(offeredConcurrency(batch, open, 1, 100, 1024), 73, "batch: ⌈50 × 1.4443⌉");
    t.equal(offeredConcurrency(events, open, 1, 100, 1024), 3, "events: ⌈50 × 0.05007⌉");
    t.equal(
      offeredConcurrency(batch, { ...open, arrival_rate_per_s: 1000 }, 1, 100, 1024),
      1000,
      "at most MAX_IN_FLIGHT (1445 uncapped)",
    );
    t.equal(
      offeredConcurrency(batch, { model: "closed" }, 7, 100, 1024),
      7,
      "closed: --concurrency",
    );

    const offered = offeredLoad(open, { events: 1, batch: 1 }, 100, 1024);
    await t.rejects(
      preflight(api({ limit: 75 }), "us-east-1", [batch, events], 2, offered),
      {
        name: "PreflightError",
        message:
          '2 cell(s) without reserved concurrency deployed at once (--parallel 2) are offered 76 concurrent executions (open loop: arrival rate × modelled duration per cell, at most 1000 each) but the unreserved pool in us-east-1 holds 75 (account limit 75): the account, not the function, would throttle them. Lower --arrival-rate or --parallel, or request a higher "Concurrent executions" quota in Service Quotas',
      },
      "73 + 3 do not fit in 75 (--concurrency 1 would have passed)",
    );
    const r = await preflight(api({ limit: 76 }), "us-east-1", [batch, events], 2, offered);
    t.equal(r.peakUnreserved, 76, "76 fit in 76");
    t.same(
      peakUnreservedDemand([events, batch, events], 1, offered),
      { cells: 1, executions: 73, reservedBeside: 0 },
      "one at a time: the most demanding cell",
    );
  },
);

t.test("a per-workload --concurrency offers each cell its workload's", async (t) => {
  const unreserved = parseMatrix("memory=512,batch=1,part=8,rc=0"); // one events, one batch cell
  const per = offeredLoad({ model: "closed" }, { events: 60, batch: 50 }, 100, 1024);
  t.same(
    peakUnreservedDemand(unreserved, 2, per),
    { cells: 2, executions: 110, reservedBeside: 0 },
    "60 + 50 at once",
  );
  t.same(
    peakUnreservedDemand(unreserved, 1, per),
    { cells: 1, executions: 60, reservedBeside: 0 },
    "one at a time: the events cell's 60 is the worst",
  );
  await t.rejects(
    preflight(api({ limit: 100 }), "us-east-1", unreserved, 2, per),
    {
      name: "PreflightError",
      message:
        '2 cell(s) without reserved concurrency deployed at once (--parallel 2) × --concurrency events=60,batch=50 (each cell at its workload\'s) = 110 concurrent executions but the unreserved pool in us-east-1 holds 100 (account limit 100): the account, not the function, would throttle them. Lower --concurrency or --parallel, or request a higher "Concurrent executions" quota in Service Quotas',
    },
    "the message names the per-workload values",
  );
  const same = offeredLoad({ model: "closed" }, { events: 60, batch: 60 }, 100, 1024);
  await t.rejects(
    preflight(api({ limit: 100 }), "us-east-1", unreserved, 2, same),
    { message: /× --concurrency 60 = 120 concurrent executions/ },
    "one value when both workloads share it",
  );
});
