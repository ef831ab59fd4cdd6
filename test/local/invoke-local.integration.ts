import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import t from "tap";
import { asEmfRecord } from "../../core/emf";
import { main, USAGE } from "../../local/invoke-local";
import { startS3Server } from "../../local/s3/server";
import { captureOutput, replaceEnv } from "../helpers/process-state";

// main() runs in-process and loads dist/handler.js (built by `npm test`'s pretest).

const MIB = 1024 * 1024;
const ENV_KEYS = [
  "S3_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION",
] as const;

/** Runs main() with stdout and stderr captured and the S3 variables set as given. */
async function run(
  t: tap.Test,
  argv: string[],
  env: Partial<Record<(typeof ENV_KEYS)[number], string>> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const restore = replaceEnv(ENV_KEYS, env);
  try {
    const { stdout, stderr, result } = await captureOutput(() => main(argv), { stderr: true });
    if (result.status === "rejected") throw result.reason;
    return { code: result.value, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    restore();
    t.equal(process.env.WORKLOAD, undefined, "main() restored the environment");
  }
}

function lines(stdout: string): unknown[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as unknown);
}

t.test("--help and -h print the usage and exit 0", async (t) => {
  for (const flag of ["--help", "-h"]) {
    const r = await run(t, [flag, "--workload", "nope"]);
    t.equal(r.code, 0, `${flag}: exit 0`);
    t.equal(r.stdout, USAGE, `${flag}: the usage text`);
  }
});

t.test("bad flags exit 2 naming the flag, the value and what is allowed", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--multipart-mb", "4", "--workload", "batch"],
      '--multipart-mb="4" is invalid: allowed an integer from 5 to 5120',
    ],
    [
      ["--event-bytes", "100"],
      '--event-bytes="100" is invalid: allowed an integer from 256 to 8192',
    ],
    [["--workload", "stream"], '--workload="stream" is invalid: allowed one of events, batch'],
    [
      ["--multipart-mb", "16"],
      '--multipart-mb="16" is invalid: allowed only with --workload batch (this is --workload events)\n',
    ],
    [
      ["--workload", "batch", "--batch-events", "10"],
      '--batch-events="10" is invalid: allowed only with --workload events (this is --workload batch)\n',
    ],
    [
      ["--object-mb", "0"],
      '--object-mb="0" is invalid: allowed only with --workload batch (this is --workload events)\n',
    ],
    [["--bogus", "1"], 'flag="--bogus" is invalid: allowed one of --workload, --memory-mb'],
    [["--batch-events"], "--batch-events=(missing) is invalid: allowed a value after the flag\n"],
    [
      ["--reserved-concurrency", "-1"],
      '--reserved-concurrency="-1" is invalid: allowed an integer from 0 to 100000\n',
    ],
    [["--help=1"], '--help="1" is invalid: allowed no value (a switch)\n'],
    [
      ["--run-id", "../x"],
      "--run-id=\"../x\" is invalid: allowed 1 to 128 letters, digits, '.', '_' and '-', starting with a letter or digit\n",
    ],
    [
      ["--name-prefix", "a/b"],
      "--name-prefix=\"a/b\" is invalid: allowed letters, digits, '-' and '_'\n",
    ],
  ];
  for (const [argv, message] of cases) {
    const r = await run(t, argv);
    t.equal(r.code, 2, `${argv.join(" ")}: exit 2`);
    t.ok(r.stderr.startsWith(`invoke-local: ${message}`), `${argv.join(" ")}: ${message}`);
    t.equal(r.stdout, "", `${argv.join(" ")}: nothing on stdout`);
  }
});

t.test("with S3_ENDPOINT set, a malformed AWS_REGION exits 2 naming it", async (t) => {
  const r = await run(t, [], { S3_ENDPOINT: "http://127.0.0.1:9", AWS_REGION: "mars" });
  t.equal(r.code, 2, "exit 2");
  t.ok(
    r.stderr.startsWith(
      'invoke-local: AWS_REGION="mars" is invalid: allowed an AWS region name such as us-east-1\n',
    ),
    r.stderr.split("\n")[0] ?? "",
  );
});

t.test(
  "an events run starts its own S3 server and prints the EMF line and the response",
  async (t) => {
    const r = await run(t, [
      "--workload",
      "events",
      "--batch-events",
      "3",
      "--event-bytes",
      "512",
      "--run-id",
      "run_1700000000000_inv001",
    ]);
    t.equal(r.code, 0, `exit 0 (${r.stderr})`);
    const [emf, response, extra] = lines(r.stdout);
    t.equal(extra, undefined, "two lines");
    t.match(
      asEmfRecord(emf),
      {
        ok: true,
        workload: "events",
        object_bytes: 1536,
        events_generated: 3,
        run_id: "run_1700000000000_inv001",
        function_name: "s3-experiment-events-512mb-b3-rc0",
      },
      "the EMF line",
    );
    t.match(
      response,
      { ok: true, object_bytes: 1536, events_generated: 3, multipart_parts: 0 },
      "the response",
    );
    t.match(
      r.stderr,
      /local S3 server at http:\/\/127\.0\.0\.1:\d+/,
      "it says which server it started",
    );
  },
);

t.test("with S3_ENDPOINT set it writes to that endpoint's bucket", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "s3x-invoke-test-"));
  const server = await startS3Server({ dataDir: dir, port: 0 });
  const s3 = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
  });
  t.teardown(async () => {
    s3.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await s3.send(new CreateBucketCommand({ Bucket: "given-bucket" }));
  const r = await run(
    t,
    ["--workload", "batch", "--object-mb", "12", "--multipart-mb", "5", "--bucket", "given-bucket"],
    {
      S3_ENDPOINT: server.endpoint,
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: server.region,
    },
  );
  t.equal(r.code, 0, `exit 0 (${r.stderr})`);
  const [, response] = lines(r.stdout) as [unknown, { s3_key: string; multipart_parts: number }];
  t.equal(response.multipart_parts, 3, "3 parts");
  const head = await s3.send(
    new HeadObjectCommand({ Bucket: "given-bucket", Key: response.s3_key }),
  );
  t.equal(head.ContentLength, 12 * MIB, "the object is on the given endpoint");
  t.notMatch(r.stderr, /local S3 server at/, "no server of its own");
});

t.test("a failed invocation exits 1 after printing the ok:false EMF line", async (t) => {
  const r = await run(t, ["--bucket", "no-such-bucket"], {
    S3_ENDPOINT: "http://127.0.0.1:9",
    AWS_ACCESS_KEY_ID: "x",
    AWS_SECRET_ACCESS_KEY: "y",
    AWS_REGION: "us-east-1",
  });
  t.equal(r.code, 1, "exit 1");
  t.match(
    asEmfRecord(lines(r.stdout)[0]),
    { ok: false, error: /ECONNREFUSED/ },
    "ok:false on stdout",
  );
  t.match(
    r.stderr,
    /^invoke-local: S3OperationError: S3 PutObject s3:\/\/no-such-bucket\//,
    "the error on stderr",
  );
});
