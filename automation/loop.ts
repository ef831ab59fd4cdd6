/**
 * The experiment loop, deployer-agnostic: for each cell deploy → warm-up (trial 0) → trials
 * (a new run_id each; closed loop: N invocations at concurrency C; open loop: Poisson arrivals
 * at rate R for S seconds) → harvest → destroy (always, in `finally`), journaling every phase.
 * A failed cell is journaled and the loop moves on; an abort stops new work, lets live cells
 * destroy and reports itself.
 */
import type { Cell, Workload } from "../core/cell";
import { cellId } from "../core/cell";
import { MAX_IN_FLIGHT } from "../core/constants";
import type { DeployedCell, Deployer } from "../core/deployer";
import { newRunId } from "../core/names";
import type { CellPhase, InvocationRecord, LoadModel } from "../core/run-files";
import { arrivalSeed } from "./arrivals";
import { type Harvester, type HarvestResult, harvestedDetail } from "./harvest";
import type { InvokeClient, OpenLoopClock } from "./invoker";
import type { Journal } from "./journal";
import type { JsonlAppender } from "./jsonl";
import type { Ledger } from "./ledger";
import { Overlaps } from "./overlaps";
import { invokeTrial } from "./trial";

/** What the loop reports as it goes (the progress view listens). */
export interface LoopEvents {
  phase(cellId: string, phase: CellPhase, detail?: string): void;
  invocation(record: InvocationRecord): void;
}

/** Everything the loop writes to and works with. */
export interface LoopContext {
  readonly deployer: Deployer;
  harvesterFor(deployed: DeployedCell): Harvester;
  /** A client whose connection pool holds `concurrency` requests in flight. */
  invokeClientFor(deployed: DeployedCell, cell: Cell, concurrency: number): InvokeClient;
  /** The ledger's name for what a cell's deploy attempt creates (stack or function). */
  resourceName(cell: Cell, attempt: number): string;
  readonly journal: Journal;
  readonly ledger: Ledger;
  readonly invocationsOut: JsonlAppender;
  readonly recordsOut: JsonlAppender;
  readonly events: LoopEvents;
  /** Aborts the running operations; live cells are still destroyed. */
  readonly signal: AbortSignal;
  /** Run id source, injectable for tests. */
  readonly newRunId?: () => string;
  /** The open loop's clock, injectable for tests. */
  readonly clock?: OpenLoopClock;
}

/** What to run. */
export interface LoopPlan {
  /** Cells in the (randomised) order to run them. */
  readonly order: readonly Cell[];
  /** Closed loop: invocations per trial (the open loop draws its count from the schedule). */
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly trials: number;
  /** Closed loop: offered client concurrency per workload. */
  readonly concurrency: Readonly<Record<Workload, number>>;
  readonly parallel: number;
  /**
   * Warm-up invocations before trial 1 of each cell (trial 0), by workload, 0 for none:
   * closed loop at min(N, concurrency), open loop all N at once, so every slot gets an
   * environment.
   */
  readonly warmup: Readonly<Record<Workload, number>>;
  readonly load: LoadModel;
  /** The run's seed: the open loop's arrival times derive from it ({@link arrivalSeed}). */
  readonly seed: number;
}

/** How the loop went. */
export interface LoopSummary {
  readonly done: string[];
  readonly failed: { cellId: string; error: string }[];
  /** Cells never started because the run was aborted. */
  readonly notStarted: string[];
  readonly aborted: boolean;
  /** Cells whose destroy failed: still live, listed in the ledger for `--cleanup`. */
  readonly leftLive: string[];
}

/** The warm-up's client concurrency: one slot per invocation, at most the trials' own. */
function warmupConcurrency(plan: LoopPlan, workload: Workload, n: number): number {
  return plan.load.model === "closed" ? Math.min(n, plan.concurrency[workload]) : n;
}

const EMPTY_HARVEST: HarvestResult = {
  records: [],
  expected: 0,
  found: 0,
  missing: 0,
  source: "none",
  counts: {},
};

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs the plan's cells, at most `parallel` at once. */
export async function runLoop(ctx: LoopContext, plan: LoopPlan): Promise<LoopSummary> {
  const summary: LoopSummary = {
    done: [],
    failed: [],
    notStarted: [],
    aborted: false,
    leftLive: [],
  };
  const overlaps = new Overlaps();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.order.length) {
      if (ctx.signal.aborted) return;
      const cell = plan.order[next++];
      if (cell === undefined) continue;
      overlaps.started(cellId(cell));
      try {
        await runCell(ctx, plan, cell, summary, overlaps);
      } finally {
        overlaps.ended(cellId(cell));
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(plan.parallel, plan.order.length)) }, worker),
  );
  for (const cell of plan.order.slice(next)) summary.notStarted.push(cellId(cell));
  return { ...summary, aborted: ctx.signal.aborted };
}

async function runCell(
  ctx: LoopContext,
  plan: LoopPlan,
  cell: Cell,
  summary: LoopSummary,
  overlaps: Overlaps,
): Promise<void> {
  const id = cellId(cell);
  const { journal, signal } = ctx;
  const phase = (
    p: CellPhase,
    extra: Parameters<Journal["write"]>[2] = {},
    note?: string,
  ): void => {
    journal.write(id, p, extra);
    ctx.events.phase(id, p, note);
  };
  // Each attempt has its own names: an earlier attempt's log group outlives its stack.
  const attempt = journal.nextDeployAttempt(id);
  const resource = ctx.resourceName(cell, attempt);
  let failure: unknown;
  let destroyError: unknown;
  phase("deploying", attempt === 1 ? {} : { detail: { attempt } });
  ctx.ledger.live(ctx.deployer.backend, id, cell, resource);
  try {
    const deployed = await ctx.deployer.deploy(cell, signal, attempt);
    phase("deployed", {
      detail: {
        function_name: deployed.functionName,
        bucket: deployed.bucket,
        log_group: deployed.logGroup,
        endpoints: deployed.endpoints,
      },
    });
    // Sockets for every call in flight: the offered concurrency, or the open loop's safety cap.
    const client = ctx.invokeClientFor(
      deployed,
      cell,
      plan.load.model === "closed" ? plan.concurrency[cell.workload] : MAX_IN_FLIGHT,
    );
    const runs: { runId: string; trial: number; records: InvocationRecord[] }[] = [];
    // The client's sockets are released however the trials end.
    try {
      const warmupN = plan.warmup[cell.workload];
      const firstTrial = warmupN > 0 ? 0 : 1;
      for (let trial = firstTrial; trial <= plan.trials; trial++) {
        signal.throwIfAborted();
        const warmup = trial === 0;
        const runId = (ctx.newRunId ?? newRunId)();
        phase(
          "trial-start",
          { run_id: runId, trial, ...(warmup ? { detail: { warmup: true } } : {}) },
          warmup ? `warm-up (${warmupN})` : `trial ${trial}/${plan.trials}`,
        );
        const overlap = overlaps.watch(id);
        let concurrentCells: string[] = [];
        const { records, load } = await invokeTrial(ctx, plan, client, {
          cell,
          deployed,
          runId,
          trial,
          invocations: warmup ? warmupN : plan.invocations[cell.workload],
          concurrency: warmup
            ? warmupConcurrency(plan, cell.workload, warmupN)
            : plan.concurrency[cell.workload],
          ...(warmup ? { warmup: true } : {}),
        }).finally(() => {
          concurrentCells = overlap.stop();
        });
        signal.throwIfAborted();
        runs.push({ runId, trial, records });
        phase("trial-done", {
          run_id: runId,
          trial,
          detail: {
            ...(warmup ? { warmup: true } : {}),
            ...load,
            throttled: records.filter((r) => r.throttled).length,
            function_errors: records.filter((r) => r.function_error !== undefined).length,
            client_errors: records.filter((r) => r.error !== undefined).length,
            // With more than one cell at once: the other cells live during the trial.
            ...(plan.parallel > 1 ? { concurrent_cells: concurrentCells } : {}),
          },
        });
      }
    } finally {
      client.destroy?.();
    }
    const harvester = ctx.harvesterFor(deployed);
    for (const run of runs) {
      const starts = run.records.map((r) => r.client_start_ms);
      const ends = run.records.map((r) => r.client_end_ms);
      // An open-loop trial may draw no arrival at all: nothing to look for.
      const result =
        run.records.length === 0
          ? EMPTY_HARVEST
          : await harvester.harvest(
              {
                deployed,
                runId: run.runId,
                startMs: Math.min(...starts),
                endMs: Math.max(...ends),
                invocations: run.records,
              },
              signal,
            );
      for (const r of result.records) ctx.recordsOut.append(r);
      phase(
        "harvested",
        {
          run_id: run.runId,
          trial: run.trial,
          detail: harvestedDetail(run.runId, result),
        },
        result.missing > 0
          ? `${result.missing} records missing (${result.reason?.code ?? "no reason"})`
          : undefined,
      );
    }
  } catch (e: unknown) {
    failure = e;
  } finally {
    phase("destroying");
    try {
      // No abort signal: an interrupted run must still take everything down.
      await ctx.deployer.destroy(cell);
      phase("destroyed");
      ctx.ledger.gone(ctx.deployer.backend, id, cell, resource);
    } catch (e: unknown) {
      summary.leftLive.push(id);
      destroyError = e;
      failure ??= e;
      if (failure !== e)
        failure = new Error(`${message(failure)}; then destroy failed: ${message(e)}`);
    }
  }
  if (failure === undefined) {
    phase("done");
    summary.done.push(id);
  } else {
    // Aborted: say so, and keep a destroy failure's own words (cell, phase, operation).
    const error = signal.aborted
      ? `aborted: ${message(signal.reason)}${destroyError === undefined ? "" : `; then destroy failed: ${message(destroyError)}`}`
      : message(failure);
    phase("failed", { detail: { error } }, error);
    summary.failed.push({ cellId: id, error });
  }
}
