import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { arrivalSeed, poissonSchedule } from "../../automation/arrivals";
import type { Harvester } from "../../automation/harvest";
import type { InvokeClient } from "../../automation/invoker";
import { Journal, readJournal } from "../../automation/journal";
import { JsonlAppender, readJsonl } from "../../automation/jsonl";
import { Ledger, liveEntries } from "../../automation/ledger";
import { type LoopEvents, type LoopPlan, runLoop } from "../../automation/loop";
import { type Cell, cellId } from "../../core/cell";
import { MAX_IN_FLIGHT } from "../../core/constants";
import type { DeployedCell, Deployer } from "../../core/deployer";
import type { CellPhase, InvocationRecord } from "../../core/run-files";
import { sameForAll } from "../../core/workloads";
import { emf } from "./fixtures";

const cells: Cell[] = [
  { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 },
  { workload: "events", memoryMb: 1024, batchEvents: 1, reservedConcurrency: 0 },
  { workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 10 },
];

class FakeDeployer implements Deployer {
  readonly backend = "local" as const;
  readonly log: string[] = [];
  readonly live = new Set<string>();
  constructor(
    private readonly failDeploy = new Set<string>(),
    private readonly onDeploy?: (cell: Cell) => void,
  ) {}
  async prepare(): Promise<void> {}
  async deploy(cell: Cell): Promise<DeployedCell> {
    const id = cellId(cell);
    this.log.push(`deploy ${id}`);
    this.live.add(id);
    this.onDeploy?.(cell);
    if (this.failDeploy.has(id)) throw new Error(`cannot deploy ${id}`);
    return {
      cellId: id,
      functionName: `fn-${id}`,
      bucket: "b",
      logGroup: `/aws/lambda/fn-${id}`,
      region: "us-east-1",
      endpoints: {},
    };
  }
  async destroy(cell: Cell): Promise<void> {
    this.log.push(`destroy ${cellId(cell)}`);
    this.live.delete(cellId(cell));
  }
  async close(): Promise<void> {}
}

/** An invoke client answering 200, with a log tail that carries nothing. */
const okClient: InvokeClient = {
  async send() {
    return { StatusCode: 200, $metadata: { httpStatusCode: 200, requestId: "r" } };
  },
};

function setup(t: Test, deployer: Deployer, controller = new AbortController()) {
  const dir = mkdtempSync(join(tmpdir(), "loop-"));
  const journal = new Journal(join(dir, "journal.jsonl"));
  const ledger = new Ledger(join(dir, "ledger.jsonl"));
  const invocationsOut = new JsonlAppender(join(dir, "invocations.jsonl"));
  const recordsOut = new JsonlAppender(join(dir, "records.jsonl"));
  t.teardown(() => {
    for (const c of [journal, ledger, invocationsOut, recordsOut]) c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const phases: [string, CellPhase][] = [];
  const events: LoopEvents = {
    phase: (id, p) => phases.push([id, p]),
    invocation: () => undefined,
  };
  let runN = 0;
  const harvester: Harvester = {
    async harvest(req) {
      const found = req.invocations.length - 1;
      return {
        records: Array.from({ length: found }, (_, i) => ({
          ...emf(i, req.runId),
          request_id: `${req.runId}-${i}`,
        })),
        expected: req.invocations.length,
        found,
        missing: 1,
        source: "fake",
        counts: { fake: found },
        reason: { code: "access-denied" as const, message: "FilterLogEvents: denied" },
      };
    },
  };
  const ctx = {
    deployer,
    harvesterFor: () => harvester,
    invokeClientFor: () => okClient,
    resourceName: (c: Cell) => `res-${cellId(c)}`,
    journal,
    ledger,
    invocationsOut,
    recordsOut,
    events,
    signal: controller.signal,
    newRunId: () => `run_170000000000${runN++}_aaaaaa`,
  };
  return { dir, ctx, phases };
}

const plan: Omit<LoopPlan, "order"> = {
  invocations: { events: 3, batch: 2 },
  trials: 2,
  concurrency: sameForAll(2),
  parallel: 1,
  warmup: { events: 0, batch: 0 },
  load: { model: "closed" },
  seed: 1,
};

t.test(
  "each cell goes deploy → trials → harvest → destroy, journaled phase by phase",
  async (t) => {
    const deployer = new FakeDeployer();
    const { dir, ctx } = setup(t, deployer);
    const summary = await runLoop(ctx, { ...plan, order: cells });
    t.same(summary.done, cells.map(cellId), "all done, in order");
    t.same(summary.failed, [], "none failed");
    const journal = readJournal(join(dir, "journal.jsonl"));
    const first = journal.filter((e) => e.cell_id === cellId(cells[0] as Cell)).map((e) => e.phase);
    t.same(
      first,
      [
        "deploying",
        "deployed",
        "trial-start",
        "trial-done",
        "trial-start",
        "trial-done",
        "harvested",
        "harvested",
        "destroying",
        "destroyed",
        "done",
      ],
      "phases in order",
    );
    const harvested = journal.find((e) => e.phase === "harvested");
    t.same(
      harvested?.detail,
      {
        run_id: harvested?.run_id,
        expected: 3,
        found: 2,
        missing: 1,
        source: "fake",
        counts: { fake: 2 },
        reason: { code: "access-denied", message: "FilterLogEvents: denied" },
      },
      "harvest counts and the reason for the missing record journaled",
    );
    t.equal(
      readJsonl(join(dir, "invocations.jsonl")).length,
      2 * 3 + 2 * 3 + 2 * 2,
      "one invocation line each",
    );
    t.equal(
      readJsonl(join(dir, "records.jsonl")).length,
      2 * 2 + 2 * 2 + 2 * 1,
      "harvested records written",
    );
    t.same(liveEntries(join(dir, "ledger.jsonl")), [], "nothing left live");
    t.equal(deployer.live.size, 0, "every cell destroyed");
    const invocations = readJsonl(join(dir, "invocations.jsonl")) as InvocationRecord[];
    t.notOk(
      invocations.some((r) => r.trial === 0 || r.warmup !== undefined),
      "--warmup 0: no warm-up run",
    );
    t.same(
      journal.find((e) => e.phase === "trial-done")?.detail,
      {
        load: "closed",
        offered_concurrency: 2,
        budget: 3,
        sent: 3,
        throttled: 0,
        function_errors: 0,
        client_errors: 0,
      },
      "each trial journals its offered concurrency and sent vs budget",
    );
  },
);

t.test(
  "a warm-up run (trial 0) comes before the measured trials, journaled and harvested like one",
  async (t) => {
    const { dir, ctx } = setup(t, new FakeDeployer());
    const summary = await runLoop(ctx, {
      ...plan,
      warmup: { events: 3, batch: 3 },
      order: [cells[0] as Cell],
    });
    t.same(summary.done, [cellId(cells[0] as Cell)], "done");
    const journal = readJournal(join(dir, "journal.jsonl"));
    t.same(
      journal.filter((e) => e.trial !== undefined).map((e) => [e.phase, e.trial, e.run_id]),
      [
        ["trial-start", 0, "run_1700000000000_aaaaaa"],
        ["trial-done", 0, "run_1700000000000_aaaaaa"],
        ["trial-start", 1, "run_1700000000001_aaaaaa"],
        ["trial-done", 1, "run_1700000000001_aaaaaa"],
        ["trial-start", 2, "run_1700000000002_aaaaaa"],
        ["trial-done", 2, "run_1700000000002_aaaaaa"],
        ["harvested", 0, "run_1700000000000_aaaaaa"],
        ["harvested", 1, "run_1700000000001_aaaaaa"],
        ["harvested", 2, "run_1700000000002_aaaaaa"],
      ],
      "warm-up with its own run id first, then trials 1 and 2; all three harvested",
    );
    t.same(
      journal.find((e) => e.phase === "trial-start")?.detail,
      { warmup: true },
      "the warm-up's start says so",
    );
    t.same(
      journal.find((e) => e.phase === "trial-done")?.detail,
      {
        warmup: true,
        load: "closed",
        offered_concurrency: 2,
        budget: 3,
        sent: 3,
        throttled: 0,
        function_errors: 0,
        client_errors: 0,
      },
      "3 warm-up invocations at min(3, concurrency 2)",
    );
    const invocations = readJsonl(join(dir, "invocations.jsonl")) as InvocationRecord[];
    t.same(
      invocations.map((r) => [r.trial, r.warmup]),
      [
        [0, true],
        [0, true],
        [0, true],
        [1, undefined],
        [1, undefined],
        [1, undefined],
        [2, undefined],
        [2, undefined],
        [2, undefined],
      ],
      "warm-up invocations carry warmup: true, measured ones no such field",
    );
  },
);

t.test(
  "the open loop sends each trial's seeded Poisson arrivals and journals scheduled, sent, dropped",
  async (t) => {
    const { dir, ctx } = setup(t, new FakeDeployer());
    const load = { model: "open", arrival_rate_per_s: 20, duration_s: 1 } as const;
    const summary = await runLoop(ctx, {
      ...plan,
      trials: 1,
      warmup: { events: 2, batch: 2 },
      load,
      seed: 1,
      order: [cells[0] as Cell],
    });
    t.same(summary.done, [cellId(cells[0] as Cell)], "done");
    const invocations = readJsonl(join(dir, "invocations.jsonl")) as InvocationRecord[];
    const warm = invocations.filter((r) => r.trial === 0);
    t.equal(warm.length, 2, "the warm-up sends its 2 at once, closed");
    t.notOk(
      warm.some((r) => r.scheduled_ms !== undefined),
      "warm-up invocations have no schedule",
    );
    const trial = invocations.filter((r) => r.trial === 1);
    const offsets = poissonSchedule(20, 1, arrivalSeed(1, 1));
    t.equal(trial.length, offsets.length, "one invocation per arrival of trial 1's seed");
    const first = trial[0]?.scheduled_ms ?? 0;
    t.ok(
      trial.every(
        (r) =>
          Math.abs((r.scheduled_ms ?? 0) - first - ((offsets[r.seq] ?? 0) - (offsets[0] ?? 0))) <=
          1,
      ),
      "scheduled_ms follow the seeded offsets",
    );
    const done = readJournal(join(dir, "journal.jsonl")).filter((e) => e.phase === "trial-done");
    t.same(
      done[0]?.detail,
      {
        warmup: true,
        load: "closed",
        offered_concurrency: 2,
        budget: 2,
        sent: 2,
        throttled: 0,
        function_errors: 0,
        client_errors: 0,
      },
      "the warm-up is closed-loop",
    );
    t.match(
      done[1]?.detail,
      {
        load: "open",
        arrival_rate_per_s: 20,
        duration_s: 1,
        scheduled: 23,
        sent: 23,
        dropped: 0,
        max_in_flight: MAX_IN_FLIGHT,
        peak_in_flight: Number,
        offered_load: Number,
        throttled: 0,
      },
      "the open trial journals its load",
    );
  },
);

t.test("a failing cell is destroyed and journaled failed; the loop goes on", async (t) => {
  const bad = cellId(cells[1] as Cell);
  const deployer = new FakeDeployer(new Set([bad]));
  const { dir, ctx } = setup(t, deployer);
  const summary = await runLoop(ctx, { ...plan, order: cells });
  t.same(summary.done, [cellId(cells[0] as Cell), cellId(cells[2] as Cell)], "the others finish");
  t.same(
    summary.failed,
    [{ cellId: bad, error: `Error: cannot deploy ${bad}` }],
    "the error is kept",
  );
  t.ok(deployer.log.includes(`destroy ${bad}`), "destroy ran in finally");
  const failed = readJournal(join(dir, "journal.jsonl")).find((e) => e.phase === "failed");
  t.same(failed?.detail, { error: `Error: cannot deploy ${bad}` }, "journaled with the error");
});

t.test(
  "an abort stops new cells, destroys the running one and lists the rest as not started",
  async (t) => {
    const controller = new AbortController();
    const deployer = new FakeDeployer(new Set(), (cell) => {
      if (cellId(cell) === cellId(cells[1] as Cell))
        controller.abort(new Error("interrupted by SIGINT"));
    });
    const { ctx } = setup(t, deployer, controller);
    const summary = await runLoop(ctx, { ...plan, order: cells });
    t.equal(summary.aborted, true, "aborted");
    t.same(
      summary.failed,
      [{ cellId: cellId(cells[1] as Cell), error: "aborted: Error: interrupted by SIGINT" }],
      "the running cell failed as aborted",
    );
    t.same(summary.notStarted, [cellId(cells[2] as Cell)], "the third never started");
    t.equal(deployer.live.size, 0, "nothing live");
  },
);

t.test("an aborted cell whose destroy fails keeps the destroy's own error", async (t) => {
  const controller = new AbortController();
  const deployer = new FakeDeployer(new Set(), () =>
    controller.abort(new Error("interrupted by SIGINT")),
  );
  deployer.destroy = async () => {
    throw new Error("destroy of x failed in DeleteBucket b: BucketNotEmpty");
  };
  const { ctx } = setup(t, deployer, controller);
  const summary = await runLoop(ctx, { ...plan, order: [cells[0] as Cell] });
  t.same(
    summary.failed.map((f) => f.error),
    [
      "aborted: Error: interrupted by SIGINT; then destroy failed: Error: destroy of x failed in DeleteBucket b: BucketNotEmpty",
    ],
    "the abort and the destroy failure, in the destroy's words",
  );
  t.same(summary.leftLive, [cellId(cells[0] as Cell)], "listed as left live");
});

t.test("parallel cells run at once", async (t) => {
  let running = 0;
  let peak = 0;
  const deployer = new FakeDeployer();
  const slow: Deployer = {
    backend: "local",
    prepare: async () => undefined,
    close: async () => undefined,
    async deploy(cell) {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      return deployer.deploy(cell);
    },
    async destroy(cell) {
      running--;
      return deployer.destroy(cell);
    },
  };
  const { ctx } = setup(t, slow);
  await runLoop(ctx, { ...plan, parallel: 2, order: cells });
  t.equal(peak, 2, "two cells deployed at once");
});

t.test("with --parallel > 1 each trial journals the other cells live during it", async (t) => {
  const deployer = new FakeDeployer();
  const { dir, ctx } = setup(t, deployer);
  const [a, b, c] = cells.map(cellId);
  await runLoop(ctx, { ...plan, parallel: 2, order: cells });
  const done = readJournal(join(dir, "journal.jsonl")).filter((e) => e.phase === "trial-done");
  const of = (id: string | undefined) =>
    done.filter((e) => e.cell_id === id).map((e) => e.detail?.concurrent_cells);
  t.same(of(a)[0], [b], "the first cell's first trial ran beside the second");
  t.ok(
    done.every((e) => Array.isArray(e.detail?.concurrent_cells)),
    "every trial says what ran beside it",
  );
  t.ok(
    done.every((e) => !(e.detail?.concurrent_cells as string[]).includes(e.cell_id)),
    "a cell never lists itself",
  );
  t.same(of(b)[0], [a], "and the second's beside the first");
  t.notOk((of(a)[0] as string[]).includes(c as string), "the third cell had not started yet");
});

t.test("one cell at a time journals no concurrent_cells", async (t) => {
  const { dir, ctx } = setup(t, new FakeDeployer());
  await runLoop(ctx, { ...plan, order: cells });
  const done = readJournal(join(dir, "journal.jsonl")).filter((e) => e.phase === "trial-done");
  t.ok(
    done.every((e) => e.detail !== undefined && !("concurrent_cells" in e.detail)),
    "absent with --parallel 1",
  );
});

t.test("each cell is offered its own workload's concurrency", async (t) => {
  const sockets: [string, number][] = [];
  const { dir, ctx } = setup(t, new FakeDeployer());
  const summary = await runLoop(
    {
      ...ctx,
      invokeClientFor: (_d: DeployedCell, cell: Cell, concurrency: number) => {
        sockets.push([cellId(cell), concurrency]);
        return okClient;
      },
    },
    {
      ...plan,
      order: cells,
      invocations: { events: 4, batch: 5 },
      concurrency: { events: 1, batch: 3 },
      warmup: { events: 1, batch: 3 },
    },
  );
  t.same(summary.failed, [], "none failed");
  t.same(
    sockets,
    cells.map((c) => [cellId(c), c.workload === "events" ? 1 : 3]),
    "the client's sockets: events 1, batch 3",
  );
  const offered = readJournal(join(dir, "journal.jsonl"))
    .filter((e) => e.phase === "trial-done")
    .map((e) => [
      e.cell_id,
      e.trial,
      (e.detail as { offered_concurrency?: number }).offered_concurrency,
    ]);
  t.same(
    offered,
    cells.flatMap((c) =>
      [0, 1, 2].map((trial) => [cellId(c), trial, c.workload === "events" ? 1 : 3]),
    ),
    "warm-up and trials at the workload's concurrency",
  );
});
