import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import t, { type Test } from "tap";
import { spawnProjectScript } from "../helpers/project-cli";

/**
 * A stand-in for the Pulumi CLI, enough for the Automation API: `version` (checked by
 * PulumiCommand.get), `stack select` failing as on a new backend (so createOrSelectStack must
 * map the error to StackNotFoundError and run `stack init`), and an `up` that runs until
 * interrupted. On SIGINT it behaves like Pulumi's graceful cancel: it keeps running a moment
 * (a second SIGINT then would make the real CLI terminate at once) and exits 255. It records
 * its calls, the environment of `up` and every signal it receives next to itself (its
 * environment is filtered, so it cannot be told where).
 */
const STANDIN = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/calls"
case "$1" in
  version) echo "v3.270.0"; exit 0 ;;
  stack)
    if [ "$2" = "select" ]; then echo "error: no stack named 'x' found" >&2; exit 255; fi
    exit 0 ;;
  up)
    env > "$dir/up.env"
    got=0
    trap 'echo INT >> "$dir/signals"; got=1' INT
    trap 'echo TERM >> "$dir/signals"; exit 143' TERM
    trap 'echo HUP >> "$dir/signals"; exit 129' HUP
    echo "Updating (r-events-512mb-b1-rc0)"
    : > "$dir/up.started"
    i=0
    while [ $got -eq 0 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
    [ $got -eq 0 ] && exit 0
    echo "^C received; cancelling. If you would like to terminate immediately, press ^C again."
    j=0
    while [ $j -lt 10 ]; do sleep 0.05; j=$((j+1)); done
    echo "error: update canceled" >&2
    exit 255 ;;
  *) exit 0 ;;
esac
`;

function standin(t: Test): { dir: string; runDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "pulumi-standin-"));
  const runDir = mkdtempSync(join(tmpdir(), "pulumi-run-"));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, "pulumi"), STANDIN);
  chmodSync(join(dir, "pulumi"), 0o755);
  return { dir, runDir };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the driver against the stand-in; `interrupt` runs once the stand-in's up started. */
async function interruptedUp(
  t: Test,
  mode: "group" | "abort",
  interrupt: (driverPid: number) => void,
) {
  const { dir, runDir } = standin(t);
  const child = spawnProjectScript("test/fixtures/pulumi/interrupt-up.ts", [mode, runDir, dir], {
    detached: true,
    env: {
      ...process.env,
      PATH: `${dir}${delimiter}${process.env.PATH ?? ""}`,
      AWS_PROFILE: "lab",
      SECRET_TOKEN: "must-not-reach-pulumi",
    },
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  await until("the stand-in's up", () => existsSync(join(dir, "up.started")));
  interrupt(child.pid ?? 0);
  const code = await exited;
  const read = (f: string): string =>
    existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "";
  return {
    code,
    output: child.output(),
    signals: read("signals"),
    calls: read("calls"),
    env: read("up.env"),
  };
}

t.test(
  "a terminal's Ctrl-C (SIGINT to the whole process group) reaches pulumi up exactly once",
  async (t) => {
    const r = await interruptedUp(t, "group", (pid) => process.kill(-pid, "SIGINT"));
    t.equal(r.signals, "INT\n", "one SIGINT, the one forwarded from the run's abort");
    t.equal(r.code, 0, `the driver reported: ${r.output}`);
    const result = JSON.parse(r.output.trim().split("\n").pop() ?? "{}") as {
      name?: string;
      message?: string;
    };
    t.equal(result.name, "CommandError", "deploy fails with the library's CommandError");
    t.match(result.message, /update canceled/, "carrying the CLI's stderr");
  },
);

t.test("an abort with no signal from anywhere sends pulumi up exactly one SIGINT", async (t) => {
  const r = await interruptedUp(t, "abort", () => undefined);
  t.equal(r.signals, "INT\n", "one SIGINT");
  t.match(r.output, /"name":"CommandError"/, "deploy fails with the library's CommandError");
});

t.test("the CLI gets exactly the deployer's environment, nothing else", async (t) => {
  const r = await interruptedUp(t, "abort", () => undefined);
  const env = new Map(
    r.env
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  t.equal(env.get("SECRET_TOKEN"), undefined, "a variable outside the passthrough is dropped");
  t.equal(env.get("NODE_OPTIONS"), undefined, "so is NODE_OPTIONS");
  t.equal(env.get("AWS_PROFILE"), "lab", "AWS_* passes");
  t.equal(env.get("PULUMI_CONFIG_PASSPHRASE"), "p", "the passphrase is set");
  t.match(env.get("PULUMI_BACKEND_URL"), /^file:\/\/.*\.pulumi-state$/, "the file backend is set");
  t.equal(env.get("PULUMI_AUTOMATION_API"), "true", "as the library's runner sets it");
  t.match(
    r.calls,
    /^stack init r-events-512mb-b1-rc0 --secrets-provider passphrase --non-interactive$/m,
    "a failed select became the library's StackNotFoundError, so the stack was created",
  );
});

/**
 * A stand-in operation that writes to stdout and stderr for about 1.5 s, then records that it
 * finished: as the real CLI would, it dies of SIGPIPE at its next write if its output is a pipe
 * whose reader is gone.
 */
const LONG_OPERATION = `#!/bin/sh
dir=$(dirname "$0")
: > "$dir/started"
i=0
while [ $i -lt 30 ]; do echo "step $i"; echo "note $i" >&2; sleep 0.05; i=$((i+1)); done
: > "$dir/finished"
echo done
`;

function longOperation(t: Test): { dir: string; command: string } {
  const dir = mkdtempSync(join(tmpdir(), "pulumi-long-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "pulumi"), LONG_OPERATION);
  chmodSync(join(dir, "pulumi"), 0o755);
  return { dir, command: join(dir, "pulumi") };
}

t.test(
  "the CLI's output reaches the callbacks and the CommandResult, stdout and stderr apart",
  async (t) => {
    const { dir, command } = longOperation(t);
    const child = spawnProjectScript("test/fixtures/pulumi/run-detached.ts", [command, dir, "up"]);
    await new Promise((resolve) => child.on("exit", resolve));
    const r = JSON.parse(child.output().trim().split("\n").pop() ?? "{}") as Record<
      string,
      unknown
    >;
    const steps = Array.from({ length: 30 }, (_, i) => `step ${i}\n`).join("");
    const notes = Array.from({ length: 30 }, (_, i) => `note ${i}\n`).join("");
    t.same(
      r,
      {
        code: 0,
        stdout: `${steps}done\n`,
        stderr: notes,
        onOutput: `${steps}done\n`,
        onError: notes,
      },
      "all of stdout and all of stderr, each in its place",
    );
    t.same(
      readdirSync(dir).filter((f) => f.startsWith(".pulumi-")),
      [],
      "the output files are removed after the command",
    );
  },
);

t.test(
  "our process killed outright leaves the CLI running to the end of its operation",
  async (t) => {
    const { dir, command } = longOperation(t);
    const child = spawnProjectScript("test/fixtures/pulumi/run-detached.ts", [command, dir, "up"]);
    t.teardown(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    await until("the operation's start", () => existsSync(join(dir, "started")));
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGKILL");
    await until("the operation's end", () => existsSync(join(dir, "finished")), 10_000);
    t.pass("the stand-in finished: no SIGPIPE on its next write");
    const out = readdirSync(dir).filter((f) => f.endsWith(".stdout"));
    t.equal(out.length, 1, "its stdout file stays behind");
    t.match(
      readFileSync(join(dir, out[0] ?? ""), "utf8"),
      /step 29\ndone\n$/,
      "with everything it wrote after we died",
    );
  },
);
