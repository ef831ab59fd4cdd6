import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { spawnProjectScript } from "../helpers/project-cli";
import { AWS_CLI, realClients, runClient } from "../helpers/real-clients";

/** Runs serve mode as a user would: Node 22 running ts-node on local/serve.ts. */
function serve(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawnProjectScript("local/serve.ts", args);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: child.output, exited };
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every descendant pid of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test("--help prints the usage and exits 0; a bad flag exits 2 naming it", async (t) => {
  const help = serve(["--help"]);
  t.equal(await help.exited, 0, "--help exits 0");
  t.match(help.output(), /^Usage: npx ts-node local\/serve\.ts/, "usage printed");
  const bad = serve(["--matrix", "memory=3"]);
  t.equal(await bad.exited, 2, "bad flag exits 2");
  t.match(
    bad.output(),
    'serve: --matrix memory="3" is invalid: allowed one of 512, 1024, 2048',
    "message",
  );
});

t.test(
  "serve mode deploys the matrix, answers aws lambda invoke, and stops cleanly on SIGINT",
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "serve-test-"));
    const server = serve([
      "--matrix",
      "workload=events,memory=512,batch=10",
      "--data-dir",
      dataDir,
    ]);
    t.teardown(() => {
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    });
    await until("serve mode to be ready", () => server.output().includes("Press Ctrl-C"));
    const out = server.output();
    const lambdaEndpoint = /Lambda endpoint: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? "";
    const s3Endpoint = /S3 endpoint: +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? "";
    const functions = [...out.matchAll(/^ {4}(s3-experiment-\S+) -> (\S+)$/gm)].map((m) => m[1]);
    t.same(
      functions,
      [
        "s3-experiment-events-512mb-b10-rc0",
        "s3-experiment-events-512mb-b10-rc10",
        "s3-experiment-events-512mb-b10-rc50",
      ],
      "three functions listed",
    );
    t.match(
      out,
      /Example \(AWS CLI v1 or v2\):\n {2}printf '%s' '\{"run_id":"run_0000000000000_serve0"\}' > event.json\n {2}AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+ AWS_REGION=us-east-1 aws lambda invoke --endpoint-url http:\/\/127\.0\.0\.1:\d+ --function-name s3-experiment-events-512mb-b10-rc0 --payload fileb:\/\/event.json --log-type Tail --query LogResult --output text out.json \| base64 -d\n/,
      "example command, in the form both AWS CLI v1 and v2 accept",
    );
    t.ok(s3Endpoint !== "", "S3 endpoint printed");
    const logsEndpoint = /Logs endpoint: +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? "";
    t.ok(logsEndpoint !== "", "Logs endpoint printed");
    t.match(
      out,
      / aws logs filter-log-events --endpoint-url http:\/\/127\.0\.0\.1:\d+ --log-group-name \/aws\/lambda\/s3-experiment-events-512mb-b10-rc0 --filter-pattern '"run_0000000000000_serve0"'\n/,
      "example aws logs command",
    );

    const clients = realClients({
      endpoint: lambdaEndpoint,
      credentials: { accessKeyId: "ANY", secretAccessKey: "any" },
    });
    t.teardown(() => clients.cleanup());
    const outFile = join(clients.dir, "out.json");
    const eventFile = join(clients.dir, "event.json");
    writeFileSync(eventFile, '{"run_id":"run_1700000000000_serve1"}');
    const run = await runClient(
      AWS_CLI,
      [
        ...clients.aws.args,
        "--output",
        "json",
        "lambda",
        "invoke",
        "--function-name",
        "s3-experiment-events-512mb-b10-rc10",
        // As the printed example: a fileb:// payload, which AWS CLI v1 reads the same way.
        "--payload",
        `fileb://${eventFile}`,
        outFile,
      ],
      clients.aws.env,
    );
    t.equal(run.code, 0, `aws lambda invoke exits 0 ${run.stderr}`);
    t.equal(JSON.parse(run.stdout).StatusCode, 200, "StatusCode 200");
    t.match(
      JSON.parse(readFileSync(outFile, "utf8")),
      {
        ok: true,
        run_id: "run_1700000000000_serve1",
        object_bytes: 10 * 1024,
        events_generated: 10,
      },
      "the handler ingested an object",
    );

    // The printed Logs endpoint serves the function's log group to aws logs.
    const logsClients = realClients({
      endpoint: logsEndpoint,
      credentials: { accessKeyId: "ANY", secretAccessKey: "any" },
    });
    t.teardown(() => logsClients.cleanup());
    let emfLines: string[] = [];
    // The line may land in the store just after the response: a few tries.
    for (let attempt = 0; attempt < 50 && emfLines.length === 0; attempt++) {
      const filtered = await runClient(
        AWS_CLI,
        [
          ...logsClients.aws.args,
          "--output",
          "json",
          "logs",
          "filter-log-events",
          "--log-group-name",
          "/aws/lambda/s3-experiment-events-512mb-b10-rc10",
          "--filter-pattern",
          '"run_1700000000000_serve1"',
        ],
        logsClients.aws.env,
      );
      t.equal(filtered.code, 0, `aws logs filter-log-events exits 0 ${filtered.stderr}`);
      emfLines = (JSON.parse(filtered.stdout) as { events: { message: string }[] }).events
        .map((e) => e.message)
        .filter((m) => m.includes('"latency_ms"'));
      if (emfLines.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(emfLines.length, 1, "aws logs finds the invocation's EMF line");

    const pid = server.child.pid ?? -1;
    const children = descendants(pid);
    const environments = children.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("bootstrap.js");
      } catch {
        return false;
      }
    });
    t.equal(environments.length, 1, "one warm execution environment is a child of serve mode");

    server.child.kill("SIGINT");
    t.equal(await server.exited, 0, "exits 0 after SIGINT");
    t.match(
      server.output(),
      /SIGINT: destroying 3 cells and stopping\.\.\.\nStopped\.\n$/,
      "says it stopped",
    );
    t.same(children.filter(alive), [], "no child process is left");
    t.notOk(existsSync(`/sys/fs/cgroup/cpu/s3x-lambda-${pid}`), "no cgroup is left");
    const logs = join(
      dataDir,
      "logs",
      encodeURIComponent("/aws/lambda/s3-experiment-events-512mb-b10-rc10"),
    );
    t.ok(existsSync(logs), "function logs stay in --data-dir");
  },
);
