/**
 * The cost estimate printed before a run (for the local backend: what the same run would
 * cost on AWS). Durations come from a deliberately simple model whose assumptions are
 * printed with the numbers; prices from core/pricing.ts.
 */
import { billedDurationMs } from "../core/billing";
import {
  type Architecture,
  type Cell,
  cellOutput,
  forCell,
  type PerCell,
  type Workload,
} from "../core/cell";
import { LAMBDA, MAX_IN_FLIGHT, MIB } from "../core/constants";
import {
  DEFAULT_PRICING,
  insightsScanCost,
  lambdaComputeCost,
  lambdaRequestCost,
  logsIngestCost,
  type Pricing,
  s3PutCost,
  s3PutRequests,
  s3StorageCost,
} from "../core/pricing";
import type { LoadModel } from "../core/run-files";
import { type PerWorkload, perWorkloadText, WORKLOADS } from "../core/workloads";

/** The model's constants, printed as its assumptions. */
export const ESTIMATE_MODEL = {
  /** One S3 PutObject round trip from Lambda, ms. */
  putRoundTripMs: 50,
  /** CPU time to generate and serialise 1 MiB of events at one full vCPU, ms. */
  eventsCpuMsPerMib: 20,
  /** Lambda → S3 network throughput per environment, MB/s (docs/architecture.md "Facts built against"). */
  networkMBps: 78,
  /** Random-data generation rate at one full vCPU, MB/s. */
  generateMBpsPerVcpu: 400,
  /** Init duration of a cold start, ms (billed since 2025-08). */
  initMs: 300,
  /** Log bytes per invocation: the EMF line plus START/END/REPORT. */
  logBytesPerInvocation: 1600,
  /** Hours the objects are stored before the stack's bucket is destroyed. */
  storageHours: 1,
} as const;

/** One line of the estimate. */
export interface EstimateItem {
  readonly item: string;
  readonly quantity: string;
  readonly usd: number;
}

/** The estimate of a whole run. */
export interface Estimate {
  readonly items: readonly EstimateItem[];
  readonly totalUsd: number;
  readonly stacks: number;
  /** Every invocation, warm-ups included. */
  readonly invocations: number;
  /** Of which warm-up invocations. */
  readonly warmupInvocations: number;
  readonly assumptions: readonly string[];
}

/** The duration model of each workload: one invocation of a cell with `vcpu` of a core, ms. */
const DURATION_MODELS: PerCell<number, [objectMb: number, eventBytes: number, vcpu: number]> = {
  events: (cell, _objectMb, eventBytes, vcpu) => {
    const mib = (cell.batchEvents * eventBytes) / MIB;
    return ESTIMATE_MODEL.putRoundTripMs + (mib * ESTIMATE_MODEL.eventsCpuMsPerMib) / vcpu;
  },
  batch: (_cell, objectMb, _eventBytes, vcpu) => {
    const m = ESTIMATE_MODEL;
    const rateMBps = Math.min(m.networkMBps, m.generateMBpsPerVcpu * vcpu);
    return m.putRoundTripMs * 2 + ((objectMb * MIB) / 1e6 / rateMBps) * 1000;
  },
};

/** Each duration model in words, for the estimate's assumptions. */
const MODEL_ASSUMPTIONS: PerWorkload<string> = {
  events: `${ESTIMATE_MODEL.putRoundTripMs} ms per PUT + ${ESTIMATE_MODEL.eventsCpuMsPerMib} ms per MiB of events at 1 vCPU (CPU ∝ memory, 1 vCPU at ${LAMBDA.mbPerVcpu} MB)`,
  batch: `object at min(${ESTIMATE_MODEL.networkMBps} MB/s network, ${ESTIMATE_MODEL.generateMBpsPerVcpu} MB/s per vCPU generation) + 2 round trips`,
};

/** The modelled duration of one invocation of a cell, ms. */
export function modelledDurationMs(cell: Cell, objectMb: number, eventBytes: number): number {
  const vcpu = Math.min(1, cell.memoryMb / LAMBDA.mbPerVcpu);
  return forCell(DURATION_MODELS, cell, objectMb, eventBytes, vcpu);
}

/**
 * The concurrency the loop offers a cell: under the closed loop `--concurrency`; under the open
 * loop, by Little's law, the arrival rate × the cell's modelled duration (rounded up), at most
 * {@link MAX_IN_FLIGHT} (the loop drops arrivals beyond it).
 */
export function offeredConcurrency(
  cell: Cell,
  load: LoadModel,
  concurrency: number,
  objectMb: number,
  eventBytes: number,
): number {
  if (load.model === "closed") return concurrency;
  const durationMs = modelledDurationMs(cell, objectMb, eventBytes);
  return Math.min(MAX_IN_FLIGHT, Math.ceil((load.arrival_rate_per_s * durationMs) / 1000));
}

/** Inputs of {@link estimateRun}. */
export interface EstimateInput {
  readonly cells: readonly Cell[];
  /** Closed loop: invocations per trial (ignored by the open loop). */
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly trials: number;
  /** Closed loop: offered client concurrency per workload. */
  readonly concurrency: Readonly<Record<Workload, number>>;
  /** Open loop: rate × duration invocations per trial. Default closed. */
  readonly load?: LoadModel;
  /** Warm-up invocations per cell (trial 0), by workload. Default none. */
  readonly warmup?: Readonly<Record<Workload, number>>;
  readonly objectMb: number;
  readonly eventBytes: number;
  readonly architecture: Architecture;
  readonly pricing?: Pricing;
}

/**
 * Estimates a run's AWS cost as an upper bound: every invocation billed (throttled ones
 * are not, in fact), one cold start per concurrent environment per cell.
 */
export function estimateRun(input: EstimateInput): Estimate {
  const pricing = input.pricing ?? DEFAULT_PRICING;
  const m = ESTIMATE_MODEL;
  let computeUsd = 0;
  let gbSeconds = 0;
  let invocations = 0;
  let puts = 0;
  let storedBytes = 0;
  let insightsBytes = 0;
  let warmupInvocations = 0;
  const load = input.load ?? { model: "closed" };
  for (const cell of input.cells) {
    const warmup = input.warmup?.[cell.workload] ?? 0;
    const durationMs = modelledDurationMs(cell, input.objectMb, input.eventBytes);
    const perTrial =
      load.model === "open"
        ? load.arrival_rate_per_s * load.duration_s
        : input.invocations[cell.workload];
    const runs = input.trials + (warmup > 0 ? 1 : 0);
    const n = perTrial * input.trials + warmup;
    warmupInvocations += warmup;
    // Open loop: Little's law, rate × modelled duration environments busy at once.
    const offered =
      load.model === "open"
        ? Math.ceil((load.arrival_rate_per_s * durationMs) / 1000)
        : Math.min(input.concurrency[cell.workload], perTrial);
    const environments = Math.min(
      Math.max(offered, warmup),
      cell.reservedConcurrency === 0 ? Number.POSITIVE_INFINITY : cell.reservedConcurrency,
    );
    // Lambda's billing rule (core/billing.ts): each environment's first invocation bills INIT.
    const billedMs =
      (n - environments) * billedDurationMs(durationMs) +
      environments * billedDurationMs(durationMs, m.initMs);
    computeUsd += lambdaComputeCost(billedMs, cell.memoryMb, input.architecture, pricing);
    gbSeconds += (billedMs / 1000) * (cell.memoryMb / 1024);
    invocations += n;
    const output = cellOutput(cell, input);
    puts += n * s3PutRequests(output.parts);
    storedBytes += n * output.objectBytes;
    // One raw-records query per run scans the cell's log group (all its runs) at worst.
    const cellLogBytes = n * m.logBytesPerInvocation;
    insightsBytes += runs * cellLogBytes;
  }
  const logBytes = invocations * m.logBytesPerInvocation;
  const gb = (b: number): string => `${(b / 1024 ** 3).toFixed(3)} GB`;
  const items: EstimateItem[] = [
    {
      item: `Lambda compute (${input.architecture})`,
      quantity: `${gbSeconds.toFixed(1)} GB-s`,
      usd: computeUsd,
    },
    {
      item: "Lambda requests",
      quantity: `${invocations}`,
      usd: lambdaRequestCost(invocations, pricing),
    },
    { item: "S3 PUT-class requests", quantity: `${puts}`, usd: s3PutCost(puts, pricing) },
    {
      item: `S3 storage (${m.storageHours} h)`,
      quantity: gb(storedBytes),
      usd: s3StorageCost(storedBytes, m.storageHours, pricing),
    },
    {
      item: "CloudWatch Logs ingestion",
      quantity: gb(logBytes),
      usd: logsIngestCost(logBytes, pricing),
    },
    {
      item: "Logs Insights scans",
      quantity: gb(insightsBytes),
      usd: insightsScanCost(insightsBytes, pricing),
    },
  ];
  return {
    items,
    totalUsd: items.reduce((s, i) => s + i.usd, 0),
    stacks: input.cells.length,
    invocations,
    warmupInvocations,
    assumptions: [
      load.model === "open"
        ? `open loop: ${load.arrival_rate_per_s}/s × ${load.duration_s} s = ${load.arrival_rate_per_s * load.duration_s} expected invocations per trial (Poisson)`
        : `closed loop: ${perWorkloadText(input.invocations)} invocations per trial`,
      `warm-up invocations per cell: ${input.warmup === undefined ? "none" : perWorkloadText(input.warmup)}`,
      `prices: ${pricing.region}, as of ${pricing.asOf}`,
      ...WORKLOADS.map((w) => `${w}: ${MODEL_ASSUMPTIONS[w]}`),
      `one ${m.initMs} ms cold start per concurrent environment per cell (open loop: rate × modelled duration); every invocation billed (throttles are not: an upper bound)`,
      `${m.logBytesPerInvocation} log bytes per invocation; one Insights scan of the cell's logs per run; objects stored ${m.storageHours} h`,
    ],
  };
}

/** The estimate as printed text. */
export function formatEstimate(e: Estimate, heading: string): string {
  const rows = e.items.map(
    (i) => `  ${i.item.padEnd(30)} ${i.quantity.padStart(14)}  $${i.usd.toFixed(4)}`,
  );
  return [
    heading,
    ...rows,
    `  ${"total".padEnd(30)} ${"".padStart(14)}  $${e.totalUsd.toFixed(4)}`,
    `  ${e.stacks} stacks (one per cell), ${e.invocations} invocations${e.warmupInvocations > 0 ? ` (${e.warmupInvocations} of them warm-up)` : ""}`,
    "  assumptions:",
    ...e.assumptions.map((a) => `    - ${a}`),
    "",
  ].join("\n");
}
