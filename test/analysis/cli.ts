import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { main } from "../../analysis/cli";

const FIXTURE = join(__dirname, "..", "fixtures", "runs", "small-local");

/** Runs main() capturing stdout and stderr. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = (s: string | Uint8Array) => {
    out += String(s);
    return true;
  };
  process.stderr.write = (s: string | Uint8Array) => {
    err += String(s);
    return true;
  };
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

function header(file: string): string {
  return readFileSync(file, "utf8").split("\n")[0] ?? "";
}

t.test("analyze writes every output with the exact columns into the run directory", async (t) => {
  const dir = join(t.testdir(), "run");
  cpSync(FIXTURE, dir, { recursive: true });
  const r = await run([dir]);
  t.equal(r.code, 0, `exit 0 (${r.err})`);
  t.match(
    r.out,
    /Analysed 108 runs in 54 cells \(4 lines skipped\)/,
    "one line per run counted, junk counted",
  );
  t.equal(
    header(join(dir, "results.csv")),
    "workload,memory_mb,batch_or_multipart,reserved_concurrency,run_id,p95_ms,throughput_obj_per_s,bytes_sum," +
      "invocations,ok,errors,throttles,cold_starts,p50_ms,p99_ms,mean_ms,mb_per_s,cost_usd," +
      "cell_id,trial,function_name,records_expected,records_found,records_missing,window_ms,events_sum,s3_put_requests,billed_ms,log_bytes_est,init_ms,billed_from_latency," +
      "warmup,warm_ok,warm_p50_ms,warm_p95_ms,warm_p99_ms",
    "results.csv: the seed's columns, then ours",
  );
  t.equal(
    readFileSync(join(dir, "results.csv"), "utf8").trim().split("\n").length,
    109,
    "header + 108 runs",
  );
  t.equal(
    header(join(dir, "pivot.csv")),
    "workload,memory_mb,1,8,10,32,64,100",
    "pivot: size levels as columns",
  );
  t.equal(
    header(join(dir, "p95.csv")),
    "workload,memory_mb,batch_or_multipart,reserved_concurrency,cell_id,trials,p95_mean_ms,p95_std_ms,throughput_mean_obj_per_s,throughput_std_obj_per_s,cell_status,not_recommended_because," +
      "warm_runs,warm_p95_geomean_ms,warm_p95_t95_low_ms,warm_p95_t95_high_ms,warm_p95_precision,warm_p50_mean_ms,warm_p99_mean_ms,cold_starts,warmup_cold_starts,measured_cold_rate,init_p50_ms,init_p95_ms,cold_client_p50_ms,cold_client_p95_ms",
    "p95.csv columns",
  );
  t.equal(
    header(join(dir, "cost.csv")),
    "workload,memory_mb,batch_or_multipart,reserved_concurrency,cell_id,architecture,runs,invocations,billed_requests,billed_ms,init_ms,billed_from_latency,gb_seconds,lambda_compute_usd,lambda_request_usd,s3_put_requests,s3_put_usd,log_bytes_est,logs_ingest_usd,total_usd,usd_per_1000_invocations,usd_per_gb_ingested,usd_per_1m_events",
    "cost.csv columns",
  );
  t.equal(
    header(join(dir, "units.csv")),
    "workload,cell_id,unit_latency_ms,unit_latency_t95_low_ms,unit_latency_t95_high_ms,unit_latency_precision,batch_wait_ms,event_rate_per_s,cost_usd_per_unit,cost_unit,throughput_per_unit,throughput_unit,mb_per_s_per_invocation,ratio_to_best,ratio_to_best_low,ratio_to_best_high,status",
    "units.csv columns",
  );
  t.equal(
    header(join(dir, "effects.csv")),
    "workload,response,term,ss,df,ms,f,p,replicates,note",
    "effects.csv columns",
  );
  const effects = readFileSync(join(dir, "effects.csv"), "utf8");
  // The fixture's trial 1 is all cold starts: the ln warm p95 ANOVA runs where every cell has warm runs.
  t.match(effects, /batch,log_p95,memory_mb×multipart_mb,/, "two-way interaction rows present");
  t.match(
    effects,
    /events,log_p95,,.*incomplete grid/,
    "events: why no ANOVA (a cell without warm runs)",
  );
  t.match(effects, /batch,throughput,residual,/, "residual row per table");
  const summary = readFileSync(join(dir, "summary.txt"), "utf8");
  t.match(
    summary,
    /records\.jsonl: +4 malformed, 0 foreign run, 0 duplicate/,
    "skipped lines reported",
  );
  t.match(summary, /Total invocations: +324\n/, "totals");
  t.match(summary, /Cold starts:/, "cold starts");
  t.match(summary, /Missing records:/, "completeness");
  t.match(readFileSync(join(dir, "report.html"), "utf8"), /^<!doctype html>/, "report written");
});

t.test(
  "analysis is deterministic: two analyses write identical p95.csv and recommendation.json",
  async (t) => {
    const root = t.testdir();
    const a = join(root, "a");
    const b = join(root, "b");
    t.equal((await run([FIXTURE, "--out-dir", a])).code, 0, "first");
    t.equal((await run([FIXTURE, "--out-dir", b])).code, 0, "second");
    t.equal(
      readFileSync(join(a, "p95.csv"), "utf8"),
      readFileSync(join(b, "p95.csv"), "utf8"),
      "same bytes",
    );
    t.equal(
      readFileSync(join(a, "recommendation.json"), "utf8"),
      readFileSync(join(b, "recommendation.json"), "utf8"),
      "same answer",
    );
  },
);

t.test("the seed's --output-* flags choose where summary, pivot and p95 go", async (t) => {
  const root = t.testdir();
  const r = await run([
    FIXTURE,
    "--out-dir",
    join(root, "out"),
    "--output-summary",
    join(root, "s.txt"),
    `--output-pivot=${join(root, "pv.csv")}`,
    "--output-p95",
    join(root, "p95_analysis.csv"),
  ]);
  t.equal(r.code, 0, "exit 0");
  t.match(
    readFileSync(join(root, "s.txt"), "utf8"),
    /^S3 ingestion experiment — summary/,
    "summary at its path",
  );
  t.match(header(join(root, "pv.csv")), /^workload,memory_mb/, "pivot at its path");
  t.match(
    header(join(root, "p95_analysis.csv")),
    /^workload,memory_mb,batch_or_multipart/,
    "p95 at its path",
  );
  t.match(header(join(root, "out", "results.csv")), /^workload,/, "the rest in --out-dir");
});

t.test("--pricing overrides prices and the report states the price date", async (t) => {
  const root = t.testdir();
  const prices = join(root, "prices.json");
  writeFileSync(
    prices,
    JSON.stringify({
      asOf: "2030-01-01",
      lambdaRequest: 0,
      s3PutRequest: 0,
      logsIngestGb: 0,
      lambdaGbSecond: { arm64: 0 },
    }),
  );
  t.equal((await run([FIXTURE, "--out-dir", root, "--pricing", prices])).code, 0, "exit 0");
  const cost = readFileSync(join(root, "cost.csv"), "utf8").trim().split("\n").slice(1);
  t.ok(
    cost.every((l) => l.split(",")[18] === "0"),
    "every total is 0 with zero prices",
  );
  t.match(
    readFileSync(join(root, "report.html"), "utf8"),
    /as of <b>2030-01-01<\/b>/,
    "price date shown",
  );
});

t.test(
  "--strategy and --balanced-weight reach recommendation.json and the printed one-line answer",
  async (t) => {
    const out = join(t.testdir(), "out");
    const r = await run([
      FIXTURE,
      "--out-dir",
      out,
      "--strategy",
      "balanced",
      "--balanced-weight",
      "0.25",
    ]);
    t.equal(r.code, 0, `exit 0 (${r.err})`);
    const rec = JSON.parse(readFileSync(join(out, "recommendation.json"), "utf8"));
    t.equal(rec.strategy, "balanced", "strategy recorded");
    t.equal(rec.balanced_weight, 0.25, "weight recorded");
    t.same(
      rec.workloads.map((w: { workload: string }) => w.workload),
      ["events", "batch"],
      "one entry per workload",
    );
    for (const w of rec.workloads) {
      t.match(r.out, `Answer: ${w.one_line}\n`, `${w.workload}: the one-line answer is printed`);
      t.match(
        w.one_line,
        /^(events|batch) \(balanced \(cost weight 0\.25\)\): /,
        "strategy in the line",
      );
    }
  },
);

t.test("--help and -h print usage and exit 0", async (t) => {
  for (const argv of [["--help"], ["-h"], ["a", "b", "--frobnicate", "-h"]]) {
    const r = await run(argv);
    t.equal(r.code, 0, `${argv.join(" ")}: exit 0`);
    t.match(r.out, /^Usage: npm run analyze -- <run directory>/, `${argv.join(" ")}: usage`);
  }
});

t.test("bad input exits 2 with a message naming the input", async (t) => {
  const root = t.testdir({ "bad.json": "{" });
  const cases: [string[], RegExp][] = [
    [[], /^analyze: run directory=\(missing\) is invalid: allowed exactly one run directory/],
    [
      [FIXTURE, "--frobnicate"],
      /^analyze: flag="--frobnicate" is invalid: allowed one of --out-dir/,
    ],
    [
      [FIXTURE, "--pricing"],
      /^analyze: --pricing=\(missing\) is invalid: allowed a value after the flag\n$/,
    ],
    [
      [FIXTURE, "--pricing", "--strategy", "cost"],
      /^analyze: --pricing=\(missing\) is invalid: allowed a value after the flag \(--strategy is a flag; a value that starts with - is written --pricing=VALUE\)\n$/,
    ],
    [
      [FIXTURE, "--out-dir="],
      /^analyze: --out-dir="" is invalid: allowed a value after the flag\n$/,
    ],
    [
      [FIXTURE, "--balanced-weight", "-1"],
      /^analyze: --balanced-weight="-1" is invalid: allowed a number from 0 \(speed only\) to 1 \(cost only\)\n$/,
    ],
    [[FIXTURE, "--help=1"], /^analyze: --help="1" is invalid: allowed no value \(a switch\)\n$/],
    [
      [FIXTURE, "--strategy", "cost", "--strategy", "speed"],
      /^analyze: --strategy="speed" is invalid: allowed the flag at most once\n$/,
    ],
    [
      ["a", "b"],
      /^analyze: run directory="a b" is invalid: allowed exactly one run directory, e\.g\. npm run analyze -- results\/<run>\n$/,
    ],
    [
      [FIXTURE, "--pricing", join(root, "bad.json")],
      /^analyze: --pricing=".*bad.json" is invalid: allowed valid JSON/,
    ],
    [
      [FIXTURE, "--strategy", "cheapest"],
      /^analyze: --strategy="cheapest" is invalid: allowed one of cost, speed, balanced/,
    ],
    [
      [FIXTURE, "--balanced-weight", "1.5"],
      /^analyze: --balanced-weight="1.5" is invalid: allowed a number from 0 \(speed only\) to 1 \(cost only\)/,
    ],
    [
      [FIXTURE, "--event-rate", "0"],
      /^analyze: --event-rate="0" is invalid: allowed a number of events\/s > 0/,
    ],
    [
      [join(root, "missing")],
      /^analyze: run directory=".*missing" is invalid: allowed an existing run directory/,
    ],
    [
      [root],
      /^analyze: run directory=".*" is invalid: allowed a run directory containing manifest.json/,
    ],
    [
      [FIXTURE, "--out-dir", "/proc/x"],
      /^analyze: --out-dir="\/proc\/x" is invalid: allowed a directory that can be created \(its parent cannot hold new directories: \/proc\/x\)\n$/,
    ],
    [
      [FIXTURE, "--out-dir", join(root, "bad.json")],
      /^analyze: --out-dir=".*bad.json" is invalid: allowed a directory that can be created \(a file is in the way: .*bad.json\)\n$/,
    ],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, 2, `exit 2 for ${argv.join(" ")}`);
    t.match(r.err, message, `message for ${argv.join(" ")}`);
  }
});
