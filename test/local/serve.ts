import t from "tap";
import { main, parseServeArgs, USAGE } from "../../local/serve";
import { captureOutput } from "../helpers/process-state";

t.test("the defaults serve the full matrix with CPU scaling on auto", async (t) => {
  const o = parseServeArgs([]);
  t.not(o, "help", "not help");
  if (o === "help") return;
  t.equal(o.cells.length, 54, "full matrix");
  t.equal(o.cpuScaling, "auto", "cpu scaling");
  t.equal(o.namePrefix, "", "no prefix");
  t.equal(o.port, undefined, "any port");
});

t.test("flags are read in both --flag value and --flag=value forms", async (t) => {
  const o = parseServeArgs([
    "--matrix=workload=batch,memory=512",
    "--data-dir",
    "/tmp/x",
    "--port=9001",
    "--s3-port",
    "9000",
    "--logs-port=9002",
    "--account-concurrency",
    "7",
    "--cpu-scaling",
    "off",
    "--name-prefix",
    "dev-",
  ]);
  t.same(
    o === "help" ? o : { ...o, cells: o.cells.length },
    {
      cells: 9,
      dataDir: "/tmp/x",
      port: 9001,
      s3Port: 9000,
      logsPort: 9002,
      accountConcurrency: 7,
      cpuScaling: "off",
      namePrefix: "dev-",
    },
    "parsed options",
  );
  t.equal(parseServeArgs(["--matrix", "events", "-h"]), "help", "-h wins");
  t.equal(parseServeArgs(["--port", "x", "--help"]), "help", "--help wins");
  t.match(USAGE, /--matrix SPEC/, "usage lists --matrix");
});

t.test("bad flags name the flag, the value and what is allowed", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--frobnicate"],
      'flag="--frobnicate" is invalid: allowed one of --matrix, --data-dir, --port, --s3-port, --logs-port, --account-concurrency, --cpu-scaling, --name-prefix, --help (-h)',
    ],
    [["--port", "70000"], '--port="70000" is invalid: allowed an integer from 0 to 65535'],
    [["--port", "-1"], '--port="-1" is invalid: allowed an integer from 0 to 65535'],
    [["--cpu-scaling", "maybe"], '--cpu-scaling="maybe" is invalid: allowed one of auto, off'],
    [["--data-dir"], "--data-dir=(missing) is invalid: allowed a value after the flag"],
    [["--data-dir="], '--data-dir="" is invalid: allowed a directory path'],
    [["--help=1"], '--help="1" is invalid: allowed no value (a switch)'],
    [
      ["--name-prefix", "a/b"],
      "--name-prefix=\"a/b\" is invalid: allowed up to 27 letters, digits, '-' and '_' (function names stay within Lambda's 64)",
    ],
    [
      ["--name-prefix", "x".repeat(28)],
      `--name-prefix="${"x".repeat(28)}" is invalid: allowed up to 27 letters, digits, '-' and '_' (function names stay within Lambda's 64)`,
    ],
  ];
  for (const [argv, message] of cases) {
    t.throws(() => parseServeArgs(argv), { name: "InvalidInputError", message }, argv.join(" "));
  }
  t.throws(() => parseServeArgs(["--matrix", "memory=3"]), {
    name: "InvalidInputError",
    message: /^--matrix memory="3"/,
  });
  const longest = parseServeArgs(["--name-prefix", "x".repeat(27)]);
  t.equal(longest === "help" ? "" : longest.namePrefix, "x".repeat(27), "27 fits");
});

t.test("main exits 2 on a bad --name-prefix before starting anything", async (t) => {
  const { stdout, stderr, result } = await captureOutput(() => main(["--name-prefix", "a/b"]), {
    stderr: true,
  });
  t.same(result, { status: "fulfilled", value: 2 }, "exit 2");
  t.equal(
    stderr.join(""),
    "serve: --name-prefix=\"a/b\" is invalid: allowed up to 27 letters, digits, '-' and '_' (function names stay within Lambda's 64)\n(see --help)\n",
    "names the flag, its value and what is allowed",
  );
  t.equal(stdout.join(""), "", "nothing served");
});

t.test(
  "main exits 2 on a --data-dir that cannot be made, at once, before starting anything",
  async (t) => {
    for (const [dir, why] of [
      ["/proc/x", "its parent cannot hold new directories: /proc/x"],
      ["/etc/hostname/x", "a file is in the way: /etc/hostname"],
    ] as const) {
      const { stdout, stderr, result } = await captureOutput(() => main(["--data-dir", dir]), {
        stderr: true,
      });
      t.same(result, { status: "fulfilled", value: 2 }, `${dir}: exit 2`);
      t.equal(
        stderr.join(""),
        `serve: --data-dir=${JSON.stringify(dir)} is invalid: allowed a directory that can be created (${why})\n(see --help)\n`,
        `${dir}: names the flag, its value and why`,
      );
      t.equal(stdout.join(""), "", `${dir}: nothing served`);
    }
  },
);
