import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import t from "tap";
import { parseArgs } from "../../../local/s3/cli";
import { DEFAULT_S3_CREDENTIALS } from "../../../local/s3/server";

const CLI = resolve(__dirname, "..", "..", "..", "local", "s3", "cli.ts");

// The CLI runs as a bundle: tap hooks child processes with its loaders, under which a .ts entry
// point would be loaded as an ES module rather than by ts-node.
let bundle = "";
t.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), "s3-cli-bundle-"));
  bundle = join(dir, "s3-local.js");
  await build({
    entryPoints: [CLI],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    logLevel: "warning",
  });
});
t.teardown(() => rm(dirname(bundle), { recursive: true, force: true }));

function runCli(args: string[]) {
  return spawn(process.execPath, [bundle, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function finished(
  child: ReturnType<typeof runCli>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolveRun) =>
    child.once("close", (code) => resolveRun({ code, stdout, stderr })),
  );
}

t.test("flags: defaults, --port and --data-dir, inline values", async (t) => {
  t.same(parseArgs([]), { port: 9000, dataDir: resolve(".s3-local"), help: false }, "defaults");
  t.same(
    parseArgs(["--port", "0", "--data-dir=/tmp/x"]),
    { port: 0, dataDir: "/tmp/x", help: false },
    "explicit port and data dir",
  );
  t.equal(parseArgs(["--help"]).help, true, "--help");
  t.equal(parseArgs(["--port", "x", "-h"]).help, true, "-h, winning over a bad value");
});

t.test("bad flags fail with a message naming flag, value and what is allowed", async (t) => {
  t.throws(() => parseArgs(["--port", "http"]), {
    name: "InvalidInputError",
    message: '--port="http" is invalid: allowed an integer from 0 to 65535',
  });
  t.throws(() => parseArgs(["--port", "70000"]), {
    name: "InvalidInputError",
    message: '--port="70000" is invalid: allowed an integer from 0 to 65535',
  });
  t.throws(() => parseArgs(["--verbose"]), {
    name: "InvalidInputError",
    message: 'flag="--verbose" is invalid: allowed one of --port, --data-dir, --help (-h)',
  });
  t.throws(() => parseArgs(["--port", "-1"]), {
    message: '--port="-1" is invalid: allowed an integer from 0 to 65535',
  });
  t.throws(() => parseArgs(["--port"]), {
    message: "--port=(missing) is invalid: allowed a value after the flag",
  });
  t.throws(() => parseArgs(["--data-dir="]), {
    message: '--data-dir="" is invalid: allowed a directory path',
  });
  t.throws(() => parseArgs(["--help=1"]), {
    message: '--help="1" is invalid: allowed no value (a switch)',
  });
});

t.test("--help prints usage and exits 0; a bad flag exits 2", async (t) => {
  const [help, short, bad, proc] = await Promise.all([
    finished(runCli(["--help"])),
    finished(runCli(["-h"])),
    finished(runCli(["--port", "x"])),
    finished(runCli(["--port", "0", "--data-dir", "/proc/x"])),
  ]);
  t.equal(proc.code, 2, "--data-dir /proc/x exits 2 at once (it used to spin forever)");
  t.equal(
    proc.stderr,
    's3:local: --data-dir="/proc/x" is invalid: allowed a directory that can be created (its parent cannot hold new directories: /proc/x)\n',
    "the message names the flag, its value and why",
  );
  t.equal(short.code, 0, "-h exits 0");
  t.equal(short.stdout, help.stdout, "-h prints the same usage");
  t.equal(help.code, 0, `--help exits 0 ${help.stderr}`);
  t.match(help.stdout, /Usage: npm run s3:local/, "usage on stdout");
  t.match(
    help.stdout,
    new RegExp(DEFAULT_S3_CREDENTIALS.secretAccessKey),
    "usage shows the default secret",
  );
  t.equal(bad.code, 2, "a bad flag exits 2");
  t.match(
    bad.stderr,
    /--port="x" is invalid: allowed an integer from 0 to 65535/,
    "the message names the flag",
  );
});

t.test(
  "the server runs in the foreground, serves requests and stops cleanly on SIGTERM",
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), "s3-cli-"));
    const child = runCli(["--port", "0", "--data-dir", dataDir]);
    const done = finished(child);
    t.teardown(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    });
    let endpoint: string | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      if (endpoint !== undefined) break;
    }
    if (endpoint === undefined) {
      // Never let the SDK fall back to its default, non-loopback endpoint.
      t.fail(`no endpoint in the banner: ${(await done).stderr}`);
      return;
    }
    t.pass(`the banner names the endpoint ${endpoint}`);
    const s3 = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: DEFAULT_S3_CREDENTIALS,
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "cli-bucket" }));
    await s3.send(new PutObjectCommand({ Bucket: "cli-bucket", Key: "k", Body: "v" }));
    s3.destroy();
    child.kill("SIGTERM");
    const run = await done;
    t.equal(run.code, 0, "exit code 0 after SIGTERM");
    t.match(run.stdout, /SIGTERM, shutting down/, "it says why it stops");
    t.same(await readdir(join(dataDir, "buckets")), ["cli-bucket"], "the data stays in --data-dir");
  },
);
