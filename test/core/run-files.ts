import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { type Manifest, readJournalFile, readManifest } from "../../core/run-files";
import { sameForAll } from "../../core/workloads";

const manifest: Manifest = {
  schema_version: 1,
  tool_version: "0.1.0",
  created_at: "2026-11-23T00:00:00.000Z",
  backend: "local",
  region: "us-east-1",
  architecture: "arm64",
  matrix: "memory=512,batch=1,rc=0",
  cells: [
    {
      cell_id: "events-512mb-b1-rc0",
      cell: { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 },
      function_name: "s3-experiment-events-512mb-b1-rc0",
    },
  ],
  order_seed: 1,
  cell_order: ["events-512mb-b1-rc0"],
  invocations: { events: 1, batch: 1 },
  trials: 1,
  concurrency: sameForAll(1),
  parallel: 1,
  object_mb: 100,
  event_bytes: 1024,
  name_prefix: "",
  versions: {},
};

function runDir(t: Test, content: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), "manifest-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (content !== null) writeFileSync(join(dir, "manifest.json"), content);
  return dir;
}

t.test("a valid manifest is read back as written", async (t) => {
  const open: Manifest = {
    ...manifest,
    load: { model: "open", arrival_rate_per_s: 20, duration_s: 10 },
    warmup_invocations: { events: 20, batch: 3 },
  };
  t.same(readManifest(runDir(t, JSON.stringify(open)), "--resume"), open, "round trip");
  const defaults = { load: { model: "closed" }, warmup_invocations: { events: 0, batch: 0 } };
  const dir = runDir(t, JSON.stringify(manifest));
  t.same(
    readManifest(dir, "--resume"),
    { ...manifest, ...defaults },
    "round trip of a run without a tag (closed loop, no warm-up by default)",
  );
  const tagged: Manifest = {
    ...manifest,
    run_tag: "k3x9q2",
    cells: manifest.cells.map((c) => ({ ...c, function_name: `${c.function_name}-k3x9q2` })),
  };
  t.same(
    readManifest(runDir(t, JSON.stringify(tagged)), "--resume"),
    { ...tagged, ...defaults },
    "and with one",
  );
});

t.test(
  "an older manifest without load or warm-up reads as a closed loop without warm-up",
  async (t) => {
    const dir = runDir(t, JSON.stringify(manifest));
    t.same(
      readManifest(dir, "--resume"),
      { ...manifest, load: { model: "closed" }, warmup_invocations: { events: 0, batch: 0 } },
      "what those runs did",
    );
  },
);

t.test("an older manifest's single concurrency applies to every workload", async (t) => {
  const dir = runDir(t, JSON.stringify({ ...manifest, concurrency: 20 }));
  t.same(readManifest(dir, "--resume").concurrency, { events: 20, batch: 20 }, "20 for both");
});

t.test("a missing or broken manifest names the input that gave the directory", async (t) => {
  const missing = runDir(t, null);
  t.throws(
    () => readManifest(missing, "--cleanup"),
    {
      name: "InvalidInputError",
      message: new RegExp(
        `^--cleanup="${missing}" is invalid: allowed a run directory with a readable JSON manifest.json \\(ENOENT`,
      ),
    },
    "missing file",
  );
  const broken = runDir(t, "{");
  t.throws(
    () => readManifest(broken, "run directory"),
    {
      message:
        /^run directory=".*" is invalid: allowed a run directory with a readable JSON manifest.json/,
    },
    "broken JSON",
  );
});

t.test("each bad field is named by file and field with what is allowed", async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [{ schema_version: 2 }, "schema_version=2 is invalid: allowed 1"],
    [{ backend: "gcp" }, 'backend="gcp" is invalid: allowed one of local, aws'],
    [{ architecture: "sparc" }, 'architecture="sparc" is invalid: allowed one of arm64, x86_64'],
    [{ region: 5 }, "region=5 is invalid: allowed a string"],
    [
      { cells: [{ cell_id: "x", cell: { workload: "stream" } }] },
      'cells="(not a list of cells)" is invalid: allowed an array of {cell_id, cell, function_name}',
    ],
    [
      { cell_order: [1] },
      'cell_order="(not a list of cell ids)" is invalid: allowed an array of cell ids',
    ],
    [
      { load: { model: "open", arrival_rate_per_s: 0, duration_s: 10 } },
      'load="(not a load model)" is invalid: allowed {"model":"closed"} or {"model":"open","arrival_rate_per_s":R,"duration_s":S} with R, S > 0',
    ],
    [
      { warmup_invocations: { events: 20 } },
      'warmup_invocations="{\\"events\\":20}" is invalid: allowed { events: N, batch: N } with integers N ≥ 0',
    ],
    [
      { concurrency: { events: 0, batch: 20 } },
      'concurrency="{\\"events\\":0,\\"batch\\":20}" is invalid: allowed { events: N, batch: N } with integers N ≥ 1, or one such N',
    ],
    [
      { run_tag: "BAD" },
      'run_tag="BAD" is invalid: allowed 6 lowercase letters or digits, or no run_tag (a run made before tags)',
    ],
  ];
  for (const [change, message] of cases) {
    const dir = runDir(t, JSON.stringify({ ...manifest, ...change }));
    t.throws(
      () => readManifest(dir, "--resume"),
      { name: "InvalidInputError", message: `${join(dir, "manifest.json")} ${message}` },
      `refuses ${JSON.stringify(change)}`,
    );
  }
});

t.test(
  "readJournalFile is the one journal reader: entries in order, other lines counted",
  async (t) => {
    const dir = t.testdir({
      "journal.jsonl": [
        '{"ts":"2026-12-01T00:00:00.000Z","cell_id":"events-512mb-b1-rc0","phase":"deploying"}',
        '{"ts":"2026-12-01T00:00:01.000Z","cell_id":"events-512mb-b1-rc0","phase":"trial-start","run_id":"run_1764547200000_abcdef","trial":0}',
        '{"ts":"2026-12-01T00:00:02.000Z","cell_id":"x","phase":"exploded"}',
        '{"ts":"2026-12-01T00:00:03.000Z","cell_id":"x","phase":"done","trial":"one"}',
        "",
        '{"ts":"2026-12-01T00:00:04.000Z","cell_id":"events-512mb-b1-rc0","pha',
      ].join("\n"),
    });
    const read = readJournalFile(join(dir, "journal.jsonl"));
    t.same(
      read.entries.map((e) => [e.phase, e.trial]),
      [
        ["deploying", undefined],
        ["trial-start", 0],
      ],
      "the two valid entries, in order",
    );
    t.equal(
      read.malformed,
      3,
      "an unknown phase, a trial that is not a number and a torn last line",
    );
    t.same(
      readJournalFile(join(dir, "absent.jsonl")),
      { entries: [], malformed: 0 },
      "no file: nothing",
    );
  },
);
