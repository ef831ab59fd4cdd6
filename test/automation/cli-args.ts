import t from "tap";
import { parseArgs, type RunOptions } from "../../automation/cli-args";
import { localDefaultFlag } from "../../automation/load-flags";
import { LOCAL_DEFAULTS } from "../../automation/run-defaults";

/** Parses as on a 2-core host (the local default concurrency depends on the cores). */
function run(argv: string[], cores = 2): RunOptions {
  const p = parseArgs(argv, () => 0.5, {}, cores);
  if (p.mode !== "run") throw new Error(`expected a run, got ${p.mode}`);
  return p.options;
}

t.test("--help and -h win over every other flag", async (t) => {
  t.same(parseArgs(["--trials", "3", "--help"]), { mode: "help" }, "help mode");
  t.same(parseArgs(["--bogus", "-h"]), { mode: "help" }, "-h, even after a bad flag");
});

t.test("--invocations takes N for both workloads or per-workload values", async (t) => {
  t.same(run(["--invocations", "7"]).invocations, { events: 7, batch: 7 }, "N");
  t.same(
    run(["--invocations", "events=30,batch=3"]).invocations,
    { events: 30, batch: 3 },
    "events=30,batch=3",
  );
  const one = run(["--invocations=batch=4"]);
  t.same(one.invocations, { events: 30, batch: 4 }, "an unnamed workload keeps its default");
  t.same(one.localDefaults.invocations, { events: 30 }, "only the defaulted workload is recorded");
  t.same(
    run(["--backend", "aws", "--invocations", "events=9"]).invocations,
    { events: 9, batch: 20 },
    "the seed's default on aws",
  );
  t.equal(
    localDefaultFlag("invocations", LOCAL_DEFAULTS.invocations),
    "--invocations events=30,batch=3",
    "the plan's hint is what the flag accepts",
  );
  t.same(
    run([localDefaultFlag("invocations", { events: 30, batch: 3 }).replace(" ", "=")]).invocations,
    { events: 30, batch: 3 },
    "and the flag takes it back",
  );
  const allowed =
    "allowed N for both workloads or events=N,batch=M (either or both), N from 1 to 10000";
  for (const raw of [
    '{"events":30,"batch":3}',
    "0",
    "events=0",
    "events=1,events=2",
    "stream=3",
    "events=1.5",
    "10001",
    "",
  ]) {
    t.throws(
      () => parseArgs(["--invocations", raw]),
      {
        name: "InvalidInputError",
        message: `--invocations=${JSON.stringify(raw)} is invalid: ${allowed}`,
      },
      raw,
    );
  }
});

t.test("--concurrency takes C for both workloads or per-workload values", async (t) => {
  t.same(run(["--concurrency", "8"]).concurrency, { events: 8, batch: 8 }, "C");
  const one = run(["--concurrency", "events=20"]);
  t.same(one.concurrency, { events: 20, batch: 20 }, "events=20: batch keeps its default");
  t.same(one.localDefaults.concurrency, { batch: 20 }, "only the defaulted workload is recorded");
  t.same(run([]).localDefaults.concurrency, { events: 1, batch: 20 }, "both when unset");
  t.notOk(
    "concurrency" in run(["--concurrency", "events=2,batch=3"]).localDefaults,
    "none when both are set",
  );
  t.same(
    run(["--backend", "aws", "--concurrency", "batch=5"]).concurrency,
    { events: 20, batch: 5 },
    "aws: the seed's 20 for the other",
  );
  t.same(run(["--backend", "aws"]).concurrency, { events: 20, batch: 20 }, "aws default");
  t.equal(
    localDefaultFlag("concurrency", { events: 1, batch: 20 }),
    "--concurrency events=1,batch=20",
    "the plan's hint is what the flag accepts",
  );
  for (const raw of ["0", "1001", "events=0", "batch=2,batch=3", "all=3"]) {
    t.throws(
      () => parseArgs(["--concurrency", raw]),
      {
        name: "InvalidInputError",
        message: `--concurrency=${JSON.stringify(raw)} is invalid: allowed N for both workloads or events=N,batch=M (either or both), N from 1 to 1000`,
      },
      raw,
    );
  }
});

t.test("no flags: the full matrix on the local backend with the local defaults", async (t) => {
  const o = run([]);
  t.equal(o.backend, "local", "local backend");
  t.equal(o.cells.length, 54, "54 cells");
  t.same(o.invocations, LOCAL_DEFAULTS.invocations, "local invocations");
  t.equal(o.trials, LOCAL_DEFAULTS.trials, "local trials");
  t.equal(o.settings.objectMb, 100, "the seed's object size");
  t.same(o.concurrency, { events: 1, batch: 20 }, "events what 2 cores hold, batch the seed's");
  t.same(run([], 8).concurrency, { events: 6, batch: 20 }, "8 cores: 7 / 1.158 events");
  t.equal(o.seed, 2 ** 31, "seed drawn from random()");
  t.same(
    Object.keys(o.localDefaults).sort(),
    ["concurrency", "invocations", "parallel", "trials"],
    "the replaced defaults are listed",
  );
});

t.test("on aws the seed's defaults apply and nothing is replaced", async (t) => {
  const o = run(["--backend", "aws"]);
  t.same(o.invocations, { events: 50, batch: 20 }, "seed invocations");
  t.equal(o.trials, 5, "seed trials");
  t.equal(o.settings.objectMb, 100, "seed object size");
  t.equal(o.parallel, 1, "one stack at a time");
  t.same(o.localDefaults, {}, "no local defaults");
});

t.test("flags set by the user are kept on local and not reported as local defaults", async (t) => {
  const o = run(["--trials=3", "--invocations", "7", "--object-mb", "16", "--seed", "42"]);
  t.equal(o.trials, 3, "trials");
  t.same(o.invocations, { events: 7, batch: 7 }, "one count for both workloads");
  t.equal(o.settings.objectMb, 16, "object size");
  t.equal(o.seed, 42, "seed");
  t.same(
    Object.keys(o.localDefaults),
    ["concurrency", "parallel"],
    "only the unset flags are defaulted",
  );
});

t.test("bad flags and values name the flag, the value and what is allowed", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--bogus"],
      'flag="--bogus" is invalid: allowed one of --matrix, --invocations, --trials, --concurrency, --backend, --region, --architecture, --object-mb, --event-bytes, --parallel, --out, --resume, --cleanup, --reharvest, --seed, --name-prefix, --warmup, --arrival-rate, --duration, --precision, --sigma, --local-network-mbps, --local-s3-latency-ms, --local-s3-storage, --dry-run, --yes, --help (-h)',
    ],
    [["--trials", "0"], '--trials="0" is invalid: allowed an integer from 1 to 100'],
    [["--trials"], "--trials=(missing) is invalid: allowed a value after the flag"],
    [
      ["--trials", "--yes"],
      "--trials=(missing) is invalid: allowed a value after the flag (--yes is a flag; a value that starts with - is written --trials=VALUE)",
    ],
    [["--trials", "-1"], '--trials="-1" is invalid: allowed an integer from 1 to 100'],
    [["--help=1"], '--help="1" is invalid: allowed no value (a switch)'],
    [["--backend", "gcp"], '--backend="gcp" is invalid: allowed one of local, aws'],
    [
      ["--local-s3-storage", "ram"],
      '--local-s3-storage="ram" is invalid: allowed one of auto, memory, disk',
    ],
    [
      ["--backend", "aws", "--local-s3-storage", "disk"],
      '--local-s3-storage="disk" is invalid: allowed nothing with --backend aws (local backend only)',
    ],
    [["--architecture", "arm"], '--architecture="arm" is invalid: allowed one of arm64, x86_64'],
    [
      ["--event-bytes", "100"],
      '--event-bytes="100" is invalid: allowed an integer from 256 to 8192',
    ],
    [
      ["--matrix", "memory=4096"],
      '--matrix memory="4096" is invalid: allowed one of 512, 1024, 2048',
    ],
    [
      ["--region", "mars"],
      '--region="mars" is invalid: allowed an AWS region name such as us-east-1',
    ],
    [["--dry-run=yes"], '--dry-run="yes" is invalid: allowed no value (a switch)'],
    [["--seed", "1", "--seed", "2"], '--seed="2" is invalid: allowed the flag at most once'],
    [
      ["--name-prefix", "a b"],
      "--name-prefix=\"a b\" is invalid: allowed up to 17 letters, digits, '-' and '_' (function names also carry a 7-character run tag and, from a cell's second deploy attempt, a suffix of up to 3 characters, within Lambda's 64)",
    ],
    [
      ["--resume", "/x", "--trials", "2"],
      '--trials="2" is invalid: allowed no --trials with --resume: the run\'s flags come from /x/manifest.json (allowed with --resume: --yes, --parallel)',
    ],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => parseArgs(argv), { name: "InvalidInputError", message }, argv.join(" "));
  }
});

t.test("the closed loop is the default, with a warm-up of one invocation per slot", async (t) => {
  const o = run(["--concurrency", "8"]);
  t.same(o.load, { model: "closed" }, "closed loop");
  t.same(
    o.warmup,
    { events: 8, batch: 3 },
    "warm-up = the slots a trial uses: min(concurrency 8, 30 events / 3 batch invocations)",
  );
  t.same(run([]).warmup, { events: 1, batch: 3 }, "local defaults on 2 cores: 1 events, 3 batch");
  t.same(run(["--backend", "aws"]).warmup, { events: 20, batch: 20 }, "aws: 20 and 20");
  t.same(run(["--warmup", "0"]).warmup, { events: 0, batch: 0 }, "--warmup 0 turns it off");
  t.same(run(["--warmup", "50"]).warmup, { events: 50, batch: 50 }, "or sets it");
  t.same(
    run(["--precision", "5", "--sigma", "0.8"]).precision,
    { relativePct: 5, sigma: 0.8 },
    "--precision and --sigma",
  );
});

t.test("--arrival-rate with --duration is the open loop", async (t) => {
  const o = run(["--arrival-rate", "2.5", "--duration", "10"]);
  t.same(o.load, { model: "open", arrival_rate_per_s: 2.5, duration_s: 10 }, "open loop");
  t.same(o.invocations, { events: 25, batch: 25 }, "expected invocations per trial: R × S");
  t.same(o.warmup, { events: 20, batch: 20 }, "warm-up default 20, sent at once");
  t.same(
    Object.keys(o.localDefaults).sort(),
    ["parallel", "trials"],
    "--invocations is not a local default under the open loop",
  );
});

t.test("bad load, warm-up and precision flags exit 2 naming the flags", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--arrival-rate", "20"],
      "--duration=(missing) is invalid: allowed seconds per trial with --arrival-rate (the open loop needs --arrival-rate R and --duration S)",
    ],
    [
      ["--duration", "10"],
      "--arrival-rate=(missing) is invalid: allowed an arrival rate with --duration (the open loop needs --arrival-rate R and --duration S)",
    ],
    [
      ["--arrival-rate", "20", "--duration", "10", "--invocations", "30"],
      '--invocations="30" is invalid: allowed no --invocations with --arrival-rate: the open loop sends rate x duration invocations per trial (--invocations and --concurrency belong to the closed loop)',
    ],
    [
      ["--arrival-rate", "20", "--duration", "10", "--concurrency", "5"],
      '--concurrency="5" is invalid: allowed no --concurrency with --arrival-rate: the open loop sends rate x duration invocations per trial (--invocations and --concurrency belong to the closed loop)',
    ],
    [
      ["--arrival-rate", "-1", "--duration", "10"],
      '--arrival-rate="-1" is invalid: allowed a number from 0.1 to 1000',
    ],
    [
      ["--arrival-rate", "1e2", "--duration", "10"],
      '--arrival-rate="1e2" is invalid: allowed a number from 0.1 to 1000',
    ],
    [
      ["--arrival-rate", "20", "--duration", "1.5"],
      '--duration="1.5" is invalid: allowed an integer from 1 to 3600',
    ],
    [
      ["--arrival-rate", "1000", "--duration", "11"],
      '--duration="11" is invalid: allowed at most 10000 expected invocations per trial: --arrival-rate 1000 x --duration 11 = 11000',
    ],
    [["--warmup", "-1"], '--warmup="-1" is invalid: allowed an integer from 0 to 1000'],
    [["--precision", "0"], '--precision="0" is invalid: allowed a number from 0.1 to 100'],
    [["--sigma", "x"], '--sigma="x" is invalid: allowed a number from 0.01 to 5'],
    [
      ["--resume", "/x", "--warmup", "2"],
      '--warmup="2" is invalid: allowed no --warmup with --resume: the run\'s flags come from /x/manifest.json (allowed with --resume: --yes, --parallel)',
    ],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => parseArgs(argv), { name: "InvalidInputError", message }, argv.join(" "));
  }
});

t.test("--resume and --cleanup take a directory", async (t) => {
  t.same(
    parseArgs(["--resume", "r", "--yes", "--parallel", "3"]),
    { mode: "resume", dir: "r", yes: true, parallel: 3 },
    "resume",
  );
  t.same(parseArgs(["--cleanup", "r"]), { mode: "cleanup", dir: "r" }, "cleanup");
});

t.test(
  "the local network emulation: Lambda's defaults, a ceiling or off, local only",
  async (t) => {
    t.same(run([]).localNetwork, { mbps: 625, s3LatencyMs: 20 }, "defaults");
    t.same(
      run(["--local-network-mbps", "100", "--local-s3-latency-ms", "0"]).localNetwork,
      { mbps: 100, s3LatencyMs: 0 },
      "a ceiling without latency",
    );
    t.same(
      run(["--local-network-mbps", "off"]).localNetwork,
      { s3LatencyMs: 20 },
      "latency without a ceiling",
    );
    t.equal(
      run(["--local-network-mbps", "off", "--local-s3-latency-ms", "0"]).localNetwork,
      "off",
      "neither: no proxy at all",
    );
    t.equal(run(["--backend", "aws"]).localNetwork, undefined, "nothing on aws");
    t.throws(() => run(["--local-network-mbps", "fast"]), {
      message:
        '--local-network-mbps="fast" is invalid: allowed a number of Mbit/s from 1 to 100000, or off',
    });
    t.throws(() => run(["--local-s3-latency-ms", "-3"]), {
      message: '--local-s3-latency-ms="-3" is invalid: allowed a number from 0 to 10000',
    });
    t.throws(() => run(["--backend", "aws", "--local-network-mbps", "100"]), {
      message:
        '--local-network-mbps="100" is invalid: allowed nothing with --backend aws (local backend only)',
    });
  },
);

t.test(
  "the region comes from --region, else AWS_REGION, each checked under its own name",
  async (t) => {
    const regionOf = (argv: string[], env: NodeJS.ProcessEnv) => {
      const p = parseArgs(argv, () => 0.5, env);
      return p.mode === "run" ? p.options.settings.region : p.mode;
    };
    t.equal(regionOf([], {}), "us-east-1", "default");
    t.equal(regionOf([], { AWS_REGION: "eu-west-1" }), "eu-west-1", "AWS_REGION");
    t.equal(
      regionOf(["--region", "ap-south-1"], { AWS_REGION: "eu-west-1" }),
      "ap-south-1",
      "--region wins",
    );
    t.throws(() => parseArgs([], () => 0.5, { AWS_REGION: "bogus" }), {
      name: "InvalidInputError",
      message: 'AWS_REGION="bogus" is invalid: allowed an AWS region name such as us-east-1',
    });
  },
);
