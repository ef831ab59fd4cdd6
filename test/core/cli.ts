import t from "tap";
import { flagList, parseFlags } from "../../core/cli";

const SPECS = {
  count: { type: "string" },
  out: { type: "string", short: "o" },
  "dry-run": { type: "boolean" },
} as const;

t.test("values, switches, inline values and the order typed", async (t) => {
  const p = parseFlags(["--count", "3", "--dry-run", "-o", "x", "--"], SPECS);
  t.same(p, {
    help: false,
    values: { count: "3", "dry-run": true, out: "x" },
    given: ["count", "dry-run", "out"],
    positionals: [],
  });
  const inline = parseFlags(["--count=-1", "--out=--x"], SPECS);
  t.same(inline.help ? {} : inline.values, { count: "-1", out: "--x" }, "inline values kept");
  const dash = parseFlags(["--count", "-1"], SPECS);
  t.same(dash.help ? {} : dash.values, { count: "-1" }, "a negative number is a value");
});

t.test("-h and --help win over every other argument", async (t) => {
  for (const argv of [["-h"], ["--help"], ["--count", "3", "-h"], ["--bogus", "--help"]]) {
    t.same(parseFlags(argv, SPECS), { help: true }, argv.join(" "));
  }
});

t.test("bad arguments name what was typed, its value and what is allowed", async (t) => {
  const flags = "one of --count, --out (-o), --dry-run, --help (-h)";
  t.equal(flagList(SPECS), "--count, --out (-o), --dry-run, --help (-h)", "flag list");
  const cases: [string[], string][] = [
    [["--bogus"], `flag="--bogus" is invalid: allowed ${flags}`],
    [["-x"], `flag="-x" is invalid: allowed ${flags}`],
    [["--no-dry-run"], `flag="--no-dry-run" is invalid: allowed ${flags}`],
    [["--count"], "--count=(missing) is invalid: allowed a value after the flag"],
    [
      ["--count", "--dry-run"],
      "--count=(missing) is invalid: allowed a value after the flag (--dry-run is a flag; a value that starts with - is written --count=VALUE)",
    ],
    [["-o", "-h2", "--out", "y"], '--out="y" is invalid: allowed the flag at most once'],
    [
      ["--out", "-h"],
      "--out=(missing) is invalid: allowed a value after the flag (-h is a flag; a value that starts with - is written --out=VALUE)",
    ],
    [["--help=1"], '--help="1" is invalid: allowed no value (a switch)'],
    [["--dry-run=yes"], '--dry-run="yes" is invalid: allowed no value (a switch)'],
    [["--count", "1", "--count", "2"], '--count="2" is invalid: allowed the flag at most once'],
    [["stray"], `argument="stray" is invalid: allowed flags only (${flags})`],
    [["--", "--count"], `argument="--count" is invalid: allowed flags only (${flags})`],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => parseFlags(argv, SPECS), { name: "InvalidInputError", message }, argv.join(" "));
  }
});

t.test("positionals when the CLI takes them, up to its maximum", async (t) => {
  const spec = { name: "run directory", max: 1, allowed: "one run directory" };
  const p = parseFlags(["dir", "--count", "2"], SPECS, spec);
  t.same(p.help ? [] : p.positionals, ["dir"], "one positional");
  t.throws(() => parseFlags(["a", "b"], SPECS, spec), {
    message: 'run directory="a b" is invalid: allowed one run directory',
  });
});
