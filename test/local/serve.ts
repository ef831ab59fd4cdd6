import t from "tap";
import { parseServeArgs, USAGE } from "../../local/serve";

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
  t.match(USAGE, /--matrix SPEC/, "usage lists --matrix");
});

t.test("bad flags name the flag, the value and what is allowed", async (t) => {
  t.throws(() => parseServeArgs(["--frobnicate"]), {
    name: "InvalidInputError",
    message: /^argument="--frobnicate" is invalid: allowed one of --matrix, /,
  });
  t.throws(() => parseServeArgs(["--port", "70000"]), {
    message: '--port="70000" is invalid: allowed an integer from 0 to 65535',
  });
  t.throws(() => parseServeArgs(["--cpu-scaling", "maybe"]), {
    message: '--cpu-scaling="maybe" is invalid: allowed one of auto, off',
  });
  t.throws(() => parseServeArgs(["--matrix", "memory=3"]), {
    name: "InvalidInputError",
    message: /^--matrix memory="3"/,
  });
  t.throws(() => parseServeArgs(["--data-dir"]), {
    message: "--data-dir=(missing) is invalid: allowed a value",
  });
});
