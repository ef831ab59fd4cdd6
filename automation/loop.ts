/**
 * The experiment loop, deployer-agnostic: for each cell deploy → trials (a new run_id each,
 * N invocations at concurrency C) → harvest → destroy (always, in `finally`), journaling
 * every phase. A failed cell is journaled and the loop moves on; an abort stops new work,
 * lets live cells destroy and reports itself.
 */
import type { Cell, Workload } from "../core/cell";
import { cellId } from "../core/cell";
import { newRunId } from "../core/names";
import type { CellPhase, InvocationRecord } from "../core/run-files";
import type { DeployedCell, Deployer } from "./deployer";
import type { Harvester } from "./harvest";
import { type InvokeClient, invokeRun } from "./invoker";
import type { Journal } from "./journal";
import type { JsonlAppender } from "./jsonl";
import type { Ledger } from "./ledger";

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
  /** The ledger's name for what a cell's deploy creates (stack or function). */
  resourceName(cell: Cell): string;
  readonly journal: Journal;
  readonly ledger: Ledger;
  readonly invocationsOut: JsonlAppender;
  readonly recordsOut: JsonlAppender;
  readonly events: LoopEvents;
  /** Aborts the running operations; live cells are still destroyed. */
  readonly signal: AbortSignal;
  /** Run id source, injectable for tests. */
  readonly newRunId?: () => string;
}

/** What to run. */
export interface LoopPlan {
  /** Cells in the (randomised) order to run them. */
  readonly order: readonly Cell[];
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly trials: number;
  readonly concurrency: number;
  readonly parallel: number;
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
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.order.length) {
      if (ctx.signal.aborted) return;
      const cell = plan.order[next++];
      if (cell !== undefined) await runCell(ctx, plan, cell, summary);
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
  const resource = ctx.resourceName(cell);
  let failure: unknown;
  phase("deploying");
  ctx.ledger.live(ctx.deployer.backend, id, cell, resource);
  try {
    const deployed = await ctx.deployer.deploy(cell, signal);
    phase("deployed", {
      detail: {
        function_name: deployed.functionName,
        bucket: deployed.bucket,
        log_group: deployed.logGroup,
        endpoints: deployed.endpoints,
      },
    });
    const client = ctx.invokeClientFor(deployed, cell, plan.concurrency);
    const runs: { runId: string; trial: number; records: InvocationRecord[] }[] = [];
    // The client's sockets are released however the trials end.
    try {
      for (let trial = 1; trial <= plan.trials; trial++) {
        signal.throwIfAborted();
        const runId = (ctx.newRunId ?? newRunId)();
        phase("trial-start", { run_id: runId, trial }, `trial ${trial}/${plan.trials}`);
        const records = await invokeRun(
          client,
          {
            cell,
            deployed,
            runId,
            trial,
            invocations: plan.invocations[cell.workload],
            concurrency: plan.concurrency,
          },
          (r) => {
            ctx.invocationsOut.append(r);
            ctx.events.invocation(r);
          },
          signal,
        );
        signal.throwIfAborted();
        runs.push({ runId, trial, records });
        phase("trial-done", {
          run_id: runId,
          trial,
          detail: {
            sent: records.length,
            throttled: records.filter((r) => r.throttled).length,
            function_errors: records.filter((r) => r.function_error !== undefined).length,
            client_errors: records.filter((r) => r.error !== undefined).length,
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
      const result = await harvester.harvest(
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
          detail: {
            run_id: run.runId,
            expected: result.expected,
            found: result.found,
            missing: result.missing,
            source: result.source,
            counts: result.counts,
            ...(result.notes === undefined ? {} : { notes: result.notes }),
          },
        },
        result.missing > 0 ? `${result.missing} records missing` : undefined,
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
      failure ??= e;
      if (failure !== e)
        failure = new Error(`${message(failure)}; then destroy failed: ${message(e)}`);
    }
  }
  if (failure === undefined) {
    phase("done");
    summary.done.push(id);
  } else {
    const error = signal.aborted ? `aborted: ${message(signal.reason)}` : message(failure);
    phase("failed", { detail: { error } }, error);
    summary.failed.push({ cellId: id, error });
  }
}
