/**
 * Limits, units and defaults of the experiment, in one place.
 * Values come from AWS documentation as summarised in docs/architecture.md ("Facts built against").
 */

/** Bytes in one mebibyte. */
export const MIB = 1024 * 1024;

/** Bytes in one gibibyte. */
export const GIB = 1024 * MIB;

/**
 * Levels of the two factors every workload shares (3×3×3 design; each workload's size factor
 * and its levels are its row in core/workloads.ts). Reserved concurrency 0 means "unreserved".
 */
export const LEVELS = {
  /** Lambda memory in MB (`MEMORY_MB`). */
  memoryMb: [512, 1024, 2048],
  /** Reserved concurrency (`RESERVED_CONCURRENCY`); 0 = unreserved, never a literal 0. */
  reservedConcurrency: [0, 10, 50],
} as const;

/** Lambda service limits. */
export const LAMBDA = {
  /** Longest allowed function timeout, seconds. */
  maxTimeoutSeconds: 900,
  /** Smallest and largest memory setting, MB. */
  minMemoryMb: 128,
  maxMemoryMb: 10240,
  /** Memory at which a function gets one full vCPU. */
  mbPerVcpu: 1769,
  /** Synchronous invocation payload limit, bytes. */
  maxSyncPayloadBytes: 6 * MIB,
  /** Default account concurrency limit. */
  defaultAccountConcurrency: 1000,
  /** Concurrency that must stay unreserved in an account. */
  minUnreservedConcurrency: 100,
  /** Longest function name. */
  maxFunctionNameLength: 64,
  /** Bytes of log returned by `LogType: Tail`. */
  tailLogBytes: 4096,
} as const;

/** The share of a core an environment of `memoryMb` gets on Lambda. */
export function quotaCores(memoryMb: number): number {
  return memoryMb / LAMBDA.mbPerVcpu;
}

/** S3 multipart upload limits. */
export const S3_MULTIPART = {
  /** Smallest part except the last, bytes. */
  minPartBytes: 5 * MIB,
  /** Largest part, bytes. */
  maxPartBytes: 5 * GIB,
  /** Most parts in one upload. */
  maxParts: 10_000,
} as const;

/** Size of one generated event (`EVENT_BYTES`), bytes. */
export const EVENT_BYTES = { min: 256, max: 8192, default: 1024 } as const;

/** Most events per object (`BATCH_EVENTS`): keeps the NDJSON body (≤ 8 KiB per event) well inside memory. */
export const MAX_BATCH_EVENTS = 100_000;

/** Largest reserved concurrency accepted (`RESERVED_CONCURRENCY`): a generous account limit. */
export const MAX_RESERVED_CONCURRENCY = 100_000;

/** Object size of the batch workload (`OBJECT_MB`), MiB. The experiment uses ≥ 100; tests may go lower. */
export const OBJECT_MB = { experimentMin: 100, default: 100, min: 1 } as const;

/**
 * Experiment loop defaults (seed: 5 trials; invocations per run are per workload,
 * core/workloads.ts `DEFAULT_INVOCATIONS`).
 */
export const LOOP_DEFAULTS = {
  trials: 5,
  /** Offered client concurrency: above reserved level 10 so that level binds. */
  concurrency: 20,
} as const;

/**
 * Most invocations the client keeps in flight at once, in either load model: the default Lambda
 * account concurrency (beyond it Lambda throttles every extra call anyway). `--concurrency` is
 * capped at it, the open loop drops arrivals beyond it, and the Lambda client gets as many
 * sockets (the SDK's default of 50 would silently queue the rest).
 */
export const MAX_IN_FLIGHT = LAMBDA.defaultAccountConcurrency;

/** CloudWatch Embedded Metric Format contract. */
export const EMF = {
  namespace: "S3IngestionExperiment",
  schemaVersion: 1,
  /** One dimension set, per cell (never per run: each value is a billed custom metric). */
  dimensions: [["workload", "function_name"]],
  metrics: [
    { Name: "latency_ms", Unit: "Milliseconds" },
    { Name: "object_bytes", Unit: "Bytes" },
    { Name: "events_generated", Unit: "Count" },
    { Name: "multipart_parts", Unit: "Count" },
  ],
} as const;

/** Lambda CPU architectures. arm64 is the default (cheaper per GB-s). */
export const ARCHITECTURES = ["arm64", "x86_64"] as const;

/** Region used when none is given. */
export const DEFAULT_REGION = "us-east-1";

/**
 * Default ceiling, Mbit/s: ≈ 625 Mbit/s (≈ 78 MB/s) per environment at 512–2,048 MB, the figure
 * in the project's facts (docs/architecture.md "Facts built against"). AWS documents no figure;
 * published measurements of one invocation's S3 transfers agree on the order of magnitude: a
 * blog post on Lambda fan-out measured 400–700 Mbit/s effective bandwidth downloading
 * increasingly large S3 objects in single invocations, and DPG Media's "The Effect of Memory
 * Configuration on AWS Lambda's Network Throughput" (2022) studies how it varies with memory.
 */
export const DEFAULT_NETWORK_MBPS = 625;

/**
 * Default added latency per S3 request, ms, before the response's first byte. AWS's whitepaper
 * "Best Practices Design Patterns: Optimizing Amazon S3 Performance" (Timeouts and Retries for
 * Latency-Sensitive Applications) gives small requests (< 512 KB) median latencies "in the tens
 * of milliseconds"; 20 ms is the low end of that range. S3's `FirstByteLatency` request
 * metric measures the same span: complete request received → response starts.
 */
export const DEFAULT_S3_LATENCY_MS = 20;
