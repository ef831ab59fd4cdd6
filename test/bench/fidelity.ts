import t from "tap";
import { parseFidelityArgs } from "../../bench/fidelity";
import {
  asInformation,
  batchTimeBreakdown,
  formatTable,
  judgeBatch,
  judgeCpu,
  judgeSaturation,
  judgeSpread,
  TOO_SMALL_NOTE,
} from "../../bench/fidelity-checks";

const CEIL = 78.125;

t.test("batch at 1024/2048 MB must be within ±10 % of the ceiling", async (t) => {
  const ok = judgeBatch(
    { memoryMb: 2048, mbPerS: [75, 77, 79], quotaShares: [0.5], saturated: 0, measured: 3 },
    CEIL,
  );
  t.same(
    ok,
    {
      name: "batch MB/s per invocation, 2048 MB",
      claim: "78.1 MB/s ±10 %",
      measured: "77.0 MB/s (75.0–79.0; CPU 0.50 of quota)",
      verdict: "ok",
    },
    "77 of 78.1 holds",
  );
  const slow = judgeBatch(
    { memoryMb: 1024, mbPerS: [50, 52], quotaShares: [0.98, 0.97], saturated: 0, measured: 2 },
    CEIL,
  );
  t.equal(slow.verdict, "FAIL", "51 MB/s fails");
  t.equal(slow.note, "CPU binds before the network (the quota is used up)", "and says why");
  const busy = judgeBatch(
    { memoryMb: 1024, mbPerS: [50], quotaShares: [0.4], saturated: 1, measured: 1 },
    CEIL,
  );
  t.equal(busy.note, "the host could not give the quota: too busy", "a starved host is named");
  const unbound = judgeBatch(
    { memoryMb: 2048, mbPerS: [66], quotaShares: [0.2], saturated: 0, measured: 1 },
    CEIL,
  );
  t.equal(
    unbound.note,
    "neither the CPU quota nor the host binds: see where the time went (next row)",
    "neither CPU nor a busy host: the breakdown says where the time went",
  );
});

t.test("batch at 512 MB is reported, below the ceiling where CPU binds", async (t) => {
  const r = judgeBatch(
    { memoryMb: 512, mbPerS: [30], quotaShares: [0.99], saturated: 0, measured: 1 },
    CEIL,
  );
  t.equal(r.verdict, "info", "not judged");
  t.equal(r.note, "below the ceiling: CPU binds (quota used)", "why it is below");
  t.equal(r.claim, "≤ 78.1 MB/s (CPU may bind)", "claim");
  const over = judgeBatch(
    { memoryMb: 512, mbPerS: [120], quotaShares: [0.5], saturated: 0, measured: 1 },
    CEIL,
  );
  t.equal(over.verdict, "FAIL", "above the ceiling is a broken ceiling");
});

t.test("CPU share of the quota and the p95 spread", async (t) => {
  const cpu = (q: number) => ({
    cpu_ms: 1,
    quota_share: q,
    host_busy_share: 0.5,
    source: "schedstat" as const,
  });
  t.equal(judgeCpu([cpu(0.97), cpu(0.99), cpu(1.01)], true).verdict, "ok", "≈ 1 holds");
  t.equal(
    judgeCpu([cpu(0.6)], true).note,
    "the host could not give the quota: too busy",
    "a short share",
  );
  t.equal(judgeCpu([cpu(3.4)], false).verdict, "FAIL", "no cgroups: not enforced");
  t.equal(judgeSpread([100, 102, 98], "c").verdict, "ok", "CV 0.02");
  t.same(
    judgeSpread([100, 200, 150], "c"),
    {
      name: "warm p95 spread across 3 trials, c",
      claim: "CV ≤ 0.1",
      measured: "CV 0.33 (p95 100, 200, 150 ms)",
      verdict: "FAIL",
    },
    "CV 0.33 fails",
  );
});

t.test("the table lines up claims and measurements", async (t) => {
  t.equal(
    formatTable([{ name: "a", claim: "x", measured: "yy", verdict: "ok" }]),
    "check  the emulation claims  measured  verdict\na      x                     yy        ok\n",
  );
});

t.test("flags: defaults, values, bad input named", async (t) => {
  t.same(
    parseFidelityArgs([]),
    {
      objectMb: 100,
      batchInvocations: 3,
      trials: 3,
      eventsInvocations: 30,
      concurrency: 20,
      force: false,
    },
    "defaults",
  );
  t.equal(parseFidelityArgs(["--help"]), "help", "help");
  t.match(parseFidelityArgs(["--object-mb", "16", "--force"]), { objectMb: 16, force: true });
  t.throws(() => parseFidelityArgs(["--trials", "1"]), {
    message: '--trials="1" is invalid: allowed an integer from 2 to 20',
  });
  t.throws(() => parseFidelityArgs(["--bogus"]), {
    message:
      'flag="--bogus" is invalid: allowed one of --object-mb, --batch-invocations, --trials, --events-invocations, --concurrency, --force, --help',
  });
});

t.test("the batch time is split into the ceiling, the emulated latency and the rest", async (t) => {
  // 100 MiB at 78.125 MB/s = 1342 ms; 13 parts, 8 in flight: Create + 2 rounds + Complete.
  const row = batchTimeBreakdown(2048, {
    objectBytes: 100 * 1024 * 1024,
    ceilingMbPerS: 78.125,
    s3LatencyMs: 20,
    partCount: 13,
    partsInFlight: 8,
    durationsMs: [1500, 1480, 1530],
    eventLoopDelayMs: { p99: 12.4, max: 30 },
  });
  t.same(row, {
    name: "batch time per invocation, 2048 MB",
    claim: "1342 ms at the ceiling + 4 × 20 ms latency = 1422 ms",
    measured: "1500 ms median (13 parts, 8 in flight)",
    verdict: "info",
    note: "78 ms beyond the emulation: the function's CPU, the local S3 server, the servers' shared event loop; servers' event-loop delay p99 12 ms, max 30 ms",
  });
  const single = batchTimeBreakdown(512, {
    objectBytes: 8 * 1024 * 1024,
    ceilingMbPerS: 78.125,
    s3LatencyMs: 20,
    partCount: 1,
    partsInFlight: 1,
    durationsMs: [200],
  });
  t.equal(single.claim, "107 ms at the ceiling + 1 × 20 ms latency = 127 ms", "one PutObject");
});

t.test("saturation: busy where the quotas fit, too small where they cannot", async (t) => {
  t.same(judgeSaturation("batch 2048 MB, one at a time", 0, 3, 1.158, 2), {
    name: "host saturated (≥ 90 % of all cores busy), batch 2048 MB, one at a time",
    claim: "never (busy environments ask 1.16 of 2 cores)",
    measured: "0 of 3 invocations (0 %)",
    verdict: "ok",
  });
  t.match(judgeSaturation("busy loop 512 MB", 2, 3, 0.289, 2), {
    measured: "2 of 3 invocations (67 %)",
    verdict: "FAIL",
    note: "the host is too busy: other work shares its cores",
  });
  t.match(judgeSaturation("events 1024 MB, concurrency 20", 85, 90, 11.58, 2), {
    claim: "unavoidable: busy environments ask 11.6 cores > 2",
    verdict: "info",
    note: "this machine is too small for this concurrency: not measured faithfully (a local run offers it only when asked, e.g. --concurrency events=20)",
  });
});

t.test("rows at a concurrency the host cannot hold are information", async (t) => {
  const spread = judgeSpread([20, 30, 45], "events 1024 MB b10 unreserved, concurrency 20");
  t.equal(spread.verdict, "FAIL", "a spread of CV 0.4 fails where judged");
  const steady = judgeSpread([100, 101, 102], "events 1024 MB b10 unreserved, concurrency 20");
  t.equal(steady.verdict, "ok", "a steady spread passes where judged");
  t.same(
    asInformation([spread, steady]),
    [
      { ...spread, verdict: "info", note: TOO_SMALL_NOTE },
      { ...steady, verdict: "info", note: TOO_SMALL_NOTE },
    ],
    "neither is judged where the host cannot hold the concurrency",
  );
});
