import t from "tap";
import { LOCAL_DEFAULTS, parseArgs, type RunOptions } from "../../automation/cli-args";

function run(argv: string[]): RunOptions {
  const p = parseArgs(argv, () => 0.5);
  if (p.mode !== "run") throw new Error(`expected a run, got ${p.mode}`);
  return p.options;
}

t.test("--help wins over every other flag", async (t) => {
  t.same(parseArgs(["--trials", "3", "--help"]), { mode: "help" }, "help mode");
});

t.test("no flags: the full matrix on the local backend with the local defaults", async (t) => {
  const o = run([]);
  t.equal(o.backend, "local", "local backend");
  t.equal(o.cells.length, 54, "54 cells");
  t.same(o.invocations, LOCAL_DEFAULTS.invocations, "local invocations");
  t.equal(o.trials, LOCAL_DEFAULTS.trials, "local trials");
  t.equal(o.settings.objectMb, 100, "the seed's object size");
  t.equal(o.concurrency, 20, "seed concurrency");
  t.equal(o.seed, 2 ** 31, "seed drawn from random()");
  t.same(
    Object.keys(o.localDefaults).sort(),
    ["invocations", "parallel", "trials"],
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
  t.same(Object.keys(o.localDefaults), ["parallel"], "only the unset flag is defaulted");
});

t.test("bad flags and values name the flag, the value and what is allowed", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--bogus"],
      'flag="--bogus" is invalid: allowed one of --matrix, --invocations, --trials, --concurrency, --backend, --region, --architecture, --object-mb, --event-bytes, --parallel, --out, --resume, --cleanup, --seed, --name-prefix, --dry-run, --yes, --help',
    ],
    [["--trials", "0"], '--trials="0" is invalid: allowed an integer from 1 to 100'],
    [["--trials"], "--trials=(missing) is invalid: allowed a value after the flag"],
    [["--backend", "gcp"], '--backend="gcp" is invalid: allowed one of local, aws'],
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
      "--name-prefix=\"a b\" is invalid: allowed up to 20 letters, digits, '-' and '_' (function names also carry a 7-character run tag, within Lambda's 64)",
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

t.test("--resume and --cleanup take a directory", async (t) => {
  t.same(
    parseArgs(["--resume", "r", "--yes", "--parallel", "3"]),
    { mode: "resume", dir: "r", yes: true, parallel: 3 },
    "resume",
  );
  t.same(parseArgs(["--cleanup", "r"]), { mode: "cleanup", dir: "r" }, "cleanup");
});
