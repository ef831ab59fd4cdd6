/**
 * The workloads of the experiment, one row each: every fact the code decides by workload (its
 * size factor and levels, environment variables, key suffix, unit of work, defaults). A new
 * workload is a row here plus the tables the compiler then asks for (its handler body, the
 * estimate's and the synthetic runs' models) and its EMF fields if it has new ones
 * (core/emf.ts); see docs/architecture.md "Workloads and cells".
 */
import { EVENT_BYTES, MAX_BATCH_EVENTS, MIB, OBJECT_MB, S3_MULTIPART } from "./constants";

/** Largest S3 object, MiB (5 TiB). */
export const MAX_OBJECT_MB = 5 * 1024 * 1024;

/** What one invocation of a cell writes, as planned. */
export interface WorkloadOutput {
  /** Bytes of the object. */
  readonly objectBytes: number;
  /** Multipart parts (0: one PutObject). */
  readonly parts: number;
  /** Events generated. */
  readonly events: number;
}

/** The shape of one workload's row (checked by `satisfies`, so every row has every fact). */
interface WorkloadSpecShape {
  /** The factor that sizes one invocation's work (the third factor beside memory and rc). */
  readonly factor: {
    /** Its field in a {@link Cell} (and in `IngestCellArgs`, `s3ingest:` config). */
    readonly field: string;
    /** Its column name in the analysis (results.csv, effects). */
    readonly name: string;
    /** The handler's environment variable. */
    readonly env: string;
    /** Its field in the EMF record (core/emf.ts); 0 in the other workloads' records. */
    readonly record: string;
    /** Its `--matrix` filter key (core/matrix.ts) and the other spellings accepted. */
    readonly filterKey: string;
    readonly aliases: readonly string[];
    /** The experiment's three levels. */
    readonly levels: readonly [number, number, number];
    /** Allowed range of a deployed value (also outside the experiment's levels). */
    readonly min: number;
    readonly max: number;
    /** In a cell id and function name: `${tag}${value}${tagSuffix}` (`b10`, `p32mb`). */
    readonly tag: string;
    readonly tagSuffix: string;
    /** After a value in prose (`10 events/object`) and on charts (`10 ev/obj`). */
    readonly describe: string;
    readonly short: string;
  };
  /** The run-wide setting (not a factor) only this workload reads. */
  readonly setting: {
    /** Its field in `CellSettings` (and `IngestCellArgs`, `s3ingest:` config). */
    readonly field: string;
    readonly env: string;
    /** Its field in the EMF record; 0 in the other workloads' records. */
    readonly record: string;
    readonly min: number;
    readonly max: number;
    readonly default: number;
    /**
     * The largest value a cell of size factor `size` allows, and why (its words), or null for
     * no bound beyond `max`.
     */
    readonly cap: null | { readonly of: (size: number) => number; readonly why: string };
  };
  /** What one invocation writes, from the size factor and the setting. */
  readonly output: (size: number, setting: number) => WorkloadOutput;
  /** Extension of the S3 key of an object (core/names.ts `objectKey`). */
  readonly keySuffix: string;
  /** Function timeout, seconds. */
  readonly timeoutSeconds: number;
  /** Invocations per run by default (`--invocations`): on AWS (the seed's), and on the local backend. */
  readonly defaultInvocations: number;
  readonly localInvocations: number;
  /**
   * Offered concurrency on the local backend by default: `"fit-host"` — as many environments as
   * the host's cores hold at the largest memory level's CPU quota beside a core for the servers
   * (automation/local-capacity.ts `fittingConcurrency`), for a workload whose latency is this
   * machine's contention when more run at once; `"seed"` — the seed's `--concurrency`.
   */
  readonly localConcurrency: { readonly rule: "fit-host" | "seed"; readonly why: string };
  /**
   * The handler's S3 client timeouts, ms (handlers/s3-client.ts): a socket without any traffic,
   * and a whole request and response.
   */
  readonly s3: { readonly socketIdleMs: number; readonly requestMs: number };
  /** What one unit of work is, for the cost per unit and the per-unit latency (analysis). */
  readonly unit: {
    /** What the analysis counts: generated events, or bytes written. */
    readonly quantity: "events" | "bytes";
    /** Cost basis: `$ per …`. */
    readonly cost: string;
    /** Throughput unit. */
    readonly throughput: string;
    /** Name of the per-unit latency. */
    readonly latency: string;
    /**
     * True when the size factor batches arrivals: a unit waits (size − 1) / arrival rate for
     * its object to fill, which the per-unit latency adds.
     */
    readonly batchesArrivals: boolean;
    /** The pick's basis in words; `{rate}` stands for the assumed arrival rate, events/s. */
    readonly basis: string;
  };
}

/** One row per workload. The order is the order of reports and of the full matrix. */
export const WORKLOAD_SPECS = {
  events: {
    factor: {
      field: "batchEvents",
      name: "batch_events",
      env: "BATCH_EVENTS",
      record: "batch_events",
      filterKey: "batch",
      aliases: ["batch_events"],
      levels: [1, 10, 100],
      min: 1,
      max: MAX_BATCH_EVENTS,
      tag: "b",
      tagSuffix: "",
      describe: "events/object",
      short: "ev/obj",
    },
    setting: {
      field: "eventBytes",
      env: "EVENT_BYTES",
      record: "event_bytes",
      min: EVENT_BYTES.min,
      max: EVENT_BYTES.max,
      default: EVENT_BYTES.default,
      cap: null,
    },
    output: (batchEvents: number, eventBytes: number) => ({
      objectBytes: batchEvents * eventBytes,
      parts: 0,
      events: batchEvents,
    }),
    keySuffix: "jsonl",
    timeoutSeconds: 60,
    defaultInvocations: 50,
    localInvocations: 30,
    localConcurrency: {
      rule: "fit-host",
      why: "as many environments as this host's cores hold at 2048 MB's CPU quota beside a core for the servers: at the seed's 20, 20 environments of ≈ 5 ms CPU each made every invocation wait for the host (warm p95 39-140 ms per cell where one at a time takes 24-27 ms) and two seeds agreed on only 13 of 27 events cells; --concurrency events=20 offers the seed's load, on a saturated host",
    },
    s3: { socketIdleMs: 10_000, requestMs: 10_000 },
    unit: {
      quantity: "events",
      cost: "1M events",
      throughput: "events/s",
      latency: "per-event p95",
      batchesArrivals: true,
      basis:
        "per-event latency = warm p95 of an invocation + (B − 1) / {rate} events/s to fill a batch of B; cost per 1M events",
    },
  },
  batch: {
    factor: {
      field: "multipartMb",
      name: "multipart_mb",
      env: "MULTIPART_MB",
      record: "multipart_part_mb",
      filterKey: "part",
      aliases: ["multipart", "multipart_mb"],
      levels: [8, 32, 64],
      min: S3_MULTIPART.minPartBytes / MIB,
      max: S3_MULTIPART.maxPartBytes / MIB,
      tag: "p",
      tagSuffix: "mb",
      describe: "MiB parts",
      short: "MiB parts",
    },
    setting: {
      field: "objectMb",
      env: "OBJECT_MB",
      record: "object_mb",
      min: OBJECT_MB.min,
      max: MAX_OBJECT_MB,
      default: OBJECT_MB.default,
      // An object has at most 10,000 parts.
      cap: {
        of: (multipartMb: number) => multipartMb * S3_MULTIPART.maxParts,
        why: `${S3_MULTIPART.maxParts} parts`,
      },
    },
    output: (multipartMb: number, objectMb: number) => ({
      objectBytes: objectMb * MIB,
      parts: Math.ceil(objectMb / multipartMb),
      events: 0,
    }),
    keySuffix: "bin",
    timeoutSeconds: 900,
    defaultInvocations: 20,
    localInvocations: 3,
    localConcurrency: {
      rule: "seed",
      why: "the seed's: a trial's invocations (3 by default) run at once, each bound by the emulated network ceiling rather than the host's CPU (two seeds agreed on 27 of 27 batch cells within ±15 %, the median cell within 1.4 %); one at a time would triple the matrix's time",
    },
    // A large CompleteMultipartUpload may be silent a while; a 64 MiB part at ≈ 78 MB/s ≈ 1 s.
    s3: { socketIdleMs: 60_000, requestMs: 120_000 },
    unit: {
      quantity: "bytes",
      cost: "GB",
      throughput: "MB/s",
      latency: "warm p95",
      batchesArrivals: false,
      basis: "warm p95 of one object's upload; cost per GB",
    },
  },
} as const satisfies Record<string, WorkloadSpecShape>;

/** A workload of the experiment. */
export type Workload = keyof typeof WORKLOAD_SPECS;

/** The workloads, in the order of {@link WORKLOAD_SPECS}. */
export const WORKLOADS = Object.keys(WORKLOAD_SPECS) as readonly Workload[];

/** The row of one workload. */
export type WorkloadSpec<W extends Workload = Workload> = (typeof WORKLOAD_SPECS)[W];

/** The row of a workload. */
export function workloadSpec<W extends Workload>(workload: W): WorkloadSpec<W> {
  return WORKLOAD_SPECS[workload];
}

/** The size-factor field of a workload's cells (`batchEvents`, `multipartMb`). */
export type FactorField<W extends Workload = Workload> = WorkloadSpec<W>["factor"]["field"];

/** The run-wide setting field of a workload (`eventBytes`, `objectMb`). */
export type SettingField<W extends Workload = Workload> = WorkloadSpec<W>["setting"]["field"];

/** A value per workload, e.g. invocations per run. */
export type PerWorkload<T> = Readonly<Record<Workload, T>>;

/** A value per workload from a function of the workload's row. */
export function perWorkload<T>(f: (spec: WorkloadSpec, workload: Workload) => T): PerWorkload<T> {
  return Object.fromEntries(WORKLOADS.map((w) => [w, f(WORKLOAD_SPECS[w], w)])) as Record<
    Workload,
    T
  >;
}

/** Invocations per run by default, per workload (`--invocations`). */
export const DEFAULT_INVOCATIONS: PerWorkload<number> = perWorkload((s) => s.defaultInvocations);

/** Invocations per run by default on the local backend (automation/cli-args.ts `LOCAL_DEFAULTS`). */
export const LOCAL_INVOCATIONS: PerWorkload<number> = perWorkload((s) => s.localInvocations);

/** The same number for every workload. */
export function sameForAll(n: number): PerWorkload<number> {
  return perWorkload(() => n);
}

/** The one value every workload has, or undefined when they differ. */
export function samePerWorkload(n: PerWorkload<number>): number | undefined {
  const first = n[WORKLOADS[0] as Workload];
  return WORKLOADS.every((w) => n[w] === first) ? first : undefined;
}

/** Values per workload as a per-workload flag takes them: `events=30,batch=3` (given ones only). */
export function formatPerWorkload(v: Readonly<Partial<Record<Workload, number>>>): string {
  return WORKLOADS.flatMap((w) => (v[w] === undefined ? [] : [`${w}=${v[w]}`])).join(",");
}

/**
 * A value per workload as a per-workload flag takes it (`--concurrency`): one number when all
 * are equal (`20`), else `events=1,batch=20`.
 */
export function perWorkloadCompact(n: PerWorkload<number>): string {
  return String(samePerWorkload(n) ?? formatPerWorkload(n));
}

/** A count per workload in words, in the rows' order: `50 events / 20 batch`. */
export function perWorkloadText(n: PerWorkload<number>): string {
  return WORKLOADS.map((w) => `${n[w]} ${w}`).join(" / ");
}
