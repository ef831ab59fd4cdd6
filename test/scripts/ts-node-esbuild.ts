/**
 * scripts/ts-node-esbuild.js, the ts-node transpiler of the npm scripts: every script that
 * runs ts-node uses it, and the CLIs it transpiles answer exactly as under TypeScript's own
 * transpiler (the tests' and `npx ts-node`'s).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { USAGE } from "../../automation/usage";
import { PROJECT_ROOT } from "../../core/paths";

const TRANSPILER = "./scripts/ts-node-esbuild.js";

/** `ts-node --transpiler …` as the npm scripts run it, without tap's loader hooks. */
function tsNode(args: readonly string[]) {
  return spawnSync(
    "/usr/bin/env",
    [
      "-u",
      "NODE_OPTIONS",
      process.execPath,
      require.resolve("ts-node/dist/bin.js"),
      "--transpiler",
      TRANSPILER,
      ...args,
    ],
    { cwd: PROJECT_ROOT, encoding: "utf8" },
  );
}

t.test("every npm script that runs ts-node runs it with the esbuild transpiler", async (t) => {
  const scripts: Record<string, string> = JSON.parse(
    readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"),
  ).scripts;
  const uses = Object.entries(scripts).filter(([, s]) => /\bts-node\b/.test(s));
  t.ok(uses.length >= 8, `${uses.length} scripts run ts-node`);
  for (const [name, script] of uses) {
    t.match(script, `ts-node --transpiler ${TRANSPILER} `, `${name}: ${script}`);
  }
});

t.test(
  "automation/run.ts under it: the same usage text and the same bad-flag answer",
  async (t) => {
    for (const flag of ["--help", "-h"]) {
      const help = tsNode(["automation/run.ts", flag]);
      t.equal(help.status, 0, `${flag} exits 0`);
      t.equal(help.stdout, USAGE, `${flag}: the usage text, byte for byte`);
      t.equal(help.stderr, "", `${flag}: nothing on stderr`);
    }
    const bad = tsNode(["automation/run.ts", "--trials", "-1"]);
    t.equal(bad.status, 2, "a bad value exits 2");
    t.equal(
      bad.stderr,
      '--trials="-1" is invalid: allowed an integer from 1 to 100\n',
      "exact message",
    );
    t.equal(bad.stdout, "", "no plan");
    // The commands load by import() once the flags parse: under it too.
    const dry = tsNode([
      "automation/run.ts",
      "--matrix",
      "workload=events,memory=512,batch=1,rc=0",
      "--dry-run",
    ]);
    t.equal(dry.stderr, "", "a dry run: nothing on stderr");
    t.equal(dry.status, 0, "a dry run exits 0");
    t.match(
      dry.stdout,
      /^Plan: 1 cells .*\nDry run: nothing was created\.\n$/s,
      "plan, estimate, dry run",
    );
  },
);

t.test("the analysis CLI's --help loads neither danfojs nor the analysis", async (t) => {
  const script = `
    const { main } = require("./analysis/cli.ts");
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    main(["--help"]).then((code) => {
      const heavy = Object.keys(require("node:module")._cache).filter((f) => /danfojs|@tensorflow|analysis[/]analyze/.test(f));
      write(JSON.stringify({ code, heavy }));
    });`;
  const child = tsNode(["-e", script]);
  t.equal(child.stderr, "", "no errors");
  t.same(JSON.parse(child.stdout), { code: 0, heavy: [] }, "nothing heavy loaded");
});
