/** The plan a new run prints first: its cells and load, the precision it gives, and the cost estimate. */
import type { Cell, Workload } from "../core/cell";
import { LAMBDA } from "../core/constants";
import {
  invocationsForPrecision,
  invocationsToBoundQuantile,
  relativeHalfWidth,
} from "../core/precision";
import { perWorkloadCompact, perWorkloadText, WORKLOADS } from "../core/workloads";
import type { RunOptions } from "./cli-args";
import { estimateRun, formatEstimate } from "./estimate";
import { localDefaultFlag } from "./load-flags";
import type { RunIo } from "./run-io";

/** Prints the plan and its AWS cost estimate. */
export function printPlan(io: RunIo, options: RunOptions, order: readonly Cell[]): void {
  const o = options;
  const load =
    o.load.model === "closed"
      ? `${perWorkloadText(o.invocations)} invocations per trial, concurrency ${perWorkloadCompact(o.concurrency)}`
      : `open loop: Poisson arrivals at ${o.load.arrival_rate_per_s}/s for ${o.load.duration_s} s per trial (≈ ${o.load.arrival_rate_per_s * o.load.duration_s} invocations, sent at their times)`;
  io.stdout.write(
    `Plan: ${order.length} cells (--matrix ${o.matrix}) on ${o.backend}, ${o.trials} trials, ` +
      `${load}, warm-up ${WORKLOADS.every((w) => o.warmup[w] === 0) ? "off" : `${perWorkloadText(o.warmup)} invocations per cell`}, ` +
      `parallel ${o.parallel}, object ${o.settings.objectMb} MiB, ` +
      `event ${o.settings.eventBytes} B, ${o.settings.architecture}, ${o.settings.region}, order seed ${o.seed}\n`,
  );
  io.stdout.write(precisionLine(o, order));
  const defaults = Object.entries(o.localDefaults);
  if (defaults.length > 0) {
    io.stdout.write(
      `Local defaults (so the full matrix finishes within ~10 minutes and events measure the emulation, not this host's contention; the manifest says why; set the flags to override): ${defaults
        .map(([k, v]) => localDefaultFlag(k, v))
        .join(", ")}\n`,
    );
  }
  const estimate = estimateRun({
    cells: order,
    invocations: o.invocations,
    trials: o.trials,
    concurrency: o.concurrency,
    load: o.load,
    warmup: o.warmup,
    objectMb: o.settings.objectMb,
    eventBytes: o.settings.eventBytes,
    architecture: o.settings.architecture,
  });
  io.stdout.write(
    formatEstimate(
      estimate,
      o.backend === "aws"
        ? "Estimated AWS cost of this run:"
        : "What this run would cost on AWS (the local backend bills nothing):",
    ),
  );
}

/** The plan's precision line: what a cell's warm p95 needs and what this plan gives it. */
function precisionLine(o: RunOptions, order: readonly Cell[]): string {
  const model = { sigma: o.precision.sigma };
  const relative = o.precision.relativePct / 100;
  const perCell = (w: Workload): string => {
    const n =
      (o.load.model === "open" ? o.load.arrival_rate_per_s * o.load.duration_s : o.invocations[w]) *
      o.trials;
    const bound = invocationsToBoundQuantile();
    const hw = relativeHalfWidth(n, model) * 100;
    return `${Number(n.toFixed(1))} ${w} invocations per cell → ±${hw.toFixed(0)} %${n < bound ? `, too few to bound a p95 (< ${bound})` : ""}`;
  };
  const workloads = WORKLOADS.filter((w) => order.some((c) => c.workload === w));
  return (
    `Precision of a cell's warm p95 (95 % confidence, log-normal σ ${o.precision.sigma}, --precision/--sigma): ` +
    `≥ ${invocationsToBoundQuantile()} invocations just to bound it; ±${o.precision.relativePct} % needs ` +
    `${invocationsForPrecision(relative, model)} warm invocations. This plan: ${workloads.map(perCell).join(", ")} ` +
    `(before throttles and failures)\n`
  );
}

/** What a dry run on AWS does not check and the real run does first (automation/preflight.ts). */
export const DRY_RUN_AWS_CHECKS =
  "Not checked by a dry run; the real run checks first: the Pulumi CLI (pulumi version), " +
  "AWS credentials (STS GetCallerIdentity) and the account's Lambda concurrency in the region " +
  `(GetAccountSettings: at least ${LAMBDA.minUnreservedConcurrency} left unreserved beside the reserved cells, ` +
  "and room in the unreserved pool for --parallel x --concurrency).";
