import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { main } from "../../analysis/cli";
import { type FidelityInput, localFidelityNotes, runFidelity } from "../../analysis/local-fidelity";
import type { Manifest } from "../../core/run-files";

const A = "events-512mb-b1-rc0";
const B = "batch-1024mb-m8-rc10";

function run(
  runId: string,
  cellId: string,
  trial: number,
  saturated: readonly boolean[],
  quotaShares: readonly number[],
  concurrentCells: readonly string[] = [],
): FidelityInput {
  return {
    runId,
    cellId,
    trial,
    warmup: trial === 0,
    hostMeasured: saturated.length,
    hostSaturated: saturated.filter(Boolean).length,
    quotaShares: [...quotaShares],
    concurrentCells: [...concurrentCells],
  };
}

const local = {
  backend: "local",
  parallel: 2,
  local: { network: { mbps: 625, s3_latency_ms: 20 } },
} as unknown as Manifest;
const NET =
  "network to S3 emulated per environment: a bandwidth ceiling of 625 Mbit/s (78.1 MB/s) per environment and direction, 20 ms added before each S3 response (--local-network-mbps, --local-s3-latency-ms)";
t.test(
  "a trial with most invocations on a saturated host is flagged; warm-ups are not counted",
  async (t) => {
    const loaded = [
      run("w", A, 0, [true], [0.9]),
      run("r1", A, 1, [true, true, false], [0.5, 0.7, 0.9], [B]),
      run("r2", A, 2, [false, true, false], [1, 1, 1]),
      run("r3", B, 1, [], []),
    ];
    const runs = runFidelity(loaded);
    t.same(
      runs.map((r) => [r.runId, r.measured, r.saturated, r.saturatedHost, r.medianQuotaShare]),
      [
        ["r1", 3, 2, true, 0.7],
        ["r2", 3, 1, false, 1],
        ["r3", 0, 0, false, undefined],
      ],
      "per run: measured, saturated, flag, median quota share",
    );
    t.same(runs[0]?.concurrentCells, [B], "the cells beside it, from the journal");
    t.same(
      localFidelityNotes(loaded, local),
      [
        NET,
        `host saturation: 1 of 2 measured trials ran on a saturated host (≥ 90 % of all cores busy in ≥ 50 % of their invocations): their latency is this machine's contention, not the function's: ${A} trial 1`,
        "1 of 3 measured trials ran beside other cells (--parallel 2); the journal's concurrent_cells lists which",
      ],
      "the caveats",
    );
  },
);

t.test("no saturation, old runs and AWS runs", async (t) => {
  const clean = [run("r1", A, 1, [false], [0.9])];
  t.same(
    localFidelityNotes(clean, local),
    [
      NET,
      "host saturation: none of 1 measured trials ran on a saturated host (≥ 90 % of all cores busy)",
    ],
    "a clean run says so",
  );
  const old = [run("r1", A, 1, [], [])];
  t.same(
    localFidelityNotes(old, { backend: "local", parallel: 1 } as unknown as Manifest),
    [
      "network to S3 NOT emulated (--local-network-mbps off, --local-s3-latency-ms 0): functions reach the local S3 server directly on loopback, so batch is CPU- and disk-bound where on AWS it is network-bound",
      "host saturation: not recorded (a run made before the local runtime measured CPU)",
    ],
    "an old run says it was not recorded",
  );
  t.same(
    localFidelityNotes(clean, { backend: "aws" } as unknown as Manifest),
    [],
    "nothing on AWS",
  );
});

t.test("npm run analyze shows the saturation caveat in summary.txt and the report", async (t) => {
  const dir = join(t.testdir(), "run");
  cpSync(join(__dirname, "..", "fixtures", "runs", "small-local"), dir, { recursive: true });
  const file = join(dir, "invocations.jsonl");
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const first = (JSON.parse(lines[0] ?? "{}") as { run_id: string; cell_id: string }).run_id;
  writeFileSync(
    file,
    `${lines
      .map((l) => {
        const r = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify({ ...r, host_busy_share: 0.5, host_saturated: r.run_id === first });
      })
      .join("\n")}\n`,
  );
  const out = process.stdout.write.bind(process.stdout);
  process.stdout.write = () => true;
  let code: number;
  try {
    code = await main([dir]);
  } finally {
    process.stdout.write = out;
  }
  t.equal(code, 0, "analyzed");
  const note =
    /host saturation: 1 of 108 measured trials ran on a saturated host .*: events-512mb-b1-rc0 trial 1/;
  t.match(
    readFileSync(join(dir, "summary.txt"), "utf8"),
    new RegExp(`Local caveat: +${note.source}`),
    "summary.txt",
  );
  t.match(readFileSync(join(dir, "report.html"), "utf8"), note, "report.html's local caveats");
});
