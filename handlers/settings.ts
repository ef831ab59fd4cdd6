/**
 * The handler's configuration, read from the environment (the seed's variables plus
 * `S3_ENDPOINT`) and validated before any S3 call: every bad or missing value is an
 * {@link InvalidInputError} naming the variable, its value and what is allowed.
 */
import type { Workload } from "../core/cell";
import {
  DEFAULT_REGION,
  EVENT_BYTES,
  LAMBDA,
  MAX_BATCH_EVENTS,
  MAX_RESERVED_CONCURRENCY,
  MIB,
  OBJECT_MB,
  S3_MULTIPART,
  WORKLOADS,
} from "../core/constants";
import { InvalidInputError, parseIntInRange, parseOneOf } from "../core/errors";

/** Environment as the handler sees it (`process.env` or a test's copy). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Settings both workloads share. */
export interface CommonSettings {
  readonly outputBucket: string;
  readonly memoryMb: number;
  /** 0 = unreserved (recorded only; the platform enforces the setting). */
  readonly reservedConcurrency: number;
  readonly namePrefix: string;
  /** An S3-compatible endpoint (path-style addressing), or undefined for AWS S3. */
  readonly s3Endpoint: string | undefined;
  readonly region: string;
}

/** Settings of the events workload. */
export interface EventsSettings extends CommonSettings {
  readonly workload: "events";
  readonly batchEvents: number;
  readonly eventBytes: number;
}

/** Settings of the batch workload, with the derived multipart plan. */
export interface BatchSettings extends CommonSettings {
  readonly workload: "batch";
  readonly multipartMb: number;
  readonly objectMb: number;
  readonly partBytes: number;
  readonly objectBytes: number;
  readonly partCount: number;
  /** lib-storage's `queueSize`: parts uploaded at once, each one part-sized buffer. */
  readonly partsInFlight: number;
}

/** Validated settings of one invocation. */
export type Settings = EventsSettings | BatchSettings;

/**
 * Memory the Node runtime, the bundled SDK and sockets need besides part buffers, MiB
 * (measured: ≈ 90 MiB RSS before the first part), with margin.
 */
export const RUNTIME_RESERVE_MIB = 128;

/**
 * Share of the remaining memory that the parts in flight may take. The rest is headroom for the
 * part lib-storage is assembling (its chunks and their copy into one part buffer) and for
 * buffers not yet garbage-collected: measured peak RSS at 512 MB with 64 MiB parts is ≈ 330–430
 * MiB (`npm run bench:upload`).
 */
export const PART_MEMORY_SHARE = 0.5;

/** Upper bound on parts in flight: more adds sockets, not throughput, at ≈ 78 MB/s per function. */
export const MAX_PARTS_IN_FLIGHT = 8;

/** Largest S3 object, MiB (5 TiB). */
export const MAX_OBJECT_MB = 5 * 1024 * 1024;

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const NAME_PREFIX_PATTERN = /^[A-Za-z0-9_-]*$/;

/**
 * Largest part, MiB, that fits in `memoryMb`: {@link PART_MEMORY_SHARE} of what is left after
 * {@link RUNTIME_RESERVE_MIB}. 0 when nothing fits.
 */
export function partBudgetMib(memoryMb: number): number {
  return Math.max(0, Math.floor((memoryMb - RUNTIME_RESERVE_MIB) * PART_MEMORY_SHARE));
}

/**
 * Parts in flight for a memory setting and part size: as many part buffers as fit in the
 * budget, at least 1, at most {@link MAX_PARTS_IN_FLIGHT} and never more than there are parts.
 * 64 MiB parts at 512 MB give 3 (192 MiB of buffers in flight).
 */
export function partsInFlight(memoryMb: number, multipartMb: number, partCount: number): number {
  const fit = Math.floor(partBudgetMib(memoryMb) / multipartMb);
  return Math.max(1, Math.min(fit, MAX_PARTS_IN_FLIGHT, partCount));
}

function required(env: Environment, name: string, allowed: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") throw new InvalidInputError(name, raw, allowed);
  return raw;
}

function optionalInt(
  env: Environment,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = env[name];
  return raw === undefined || raw === "" ? fallback : parseIntInRange(name, raw, min, max);
}

function parseEndpoint(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InvalidInputError("S3_ENDPOINT", raw, "an http:// or https:// URL");
  }
  return raw;
}

/**
 * Reads and validates the settings of one invocation. Only the variables of the configured
 * workload are read (a cell's environment carries no others): `BATCH_EVENTS` and
 * `EVENT_BYTES` for events, `MULTIPART_MB` and `OBJECT_MB` for batch.
 *
 * @throws InvalidInputError for any missing or invalid value, before any S3 call.
 */
export function readSettings(env: Environment): Settings {
  const workload: Workload = parseOneOf("WORKLOAD", env.WORKLOAD, WORKLOADS);
  const outputBucket = required(env, "OUTPUT_BUCKET", "an S3 bucket name");
  if (!BUCKET_PATTERN.test(outputBucket)) {
    throw new InvalidInputError(
      "OUTPUT_BUCKET",
      outputBucket,
      "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    );
  }
  const namePrefix = env.NAME_PREFIX ?? "";
  if (!NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new InvalidInputError("NAME_PREFIX", namePrefix, "letters, digits, '-' and '_'");
  }
  const common: CommonSettings = {
    outputBucket,
    memoryMb: parseIntInRange("MEMORY_MB", env.MEMORY_MB, LAMBDA.minMemoryMb, LAMBDA.maxMemoryMb),
    reservedConcurrency: optionalInt(env, "RESERVED_CONCURRENCY", 0, MAX_RESERVED_CONCURRENCY, 0),
    namePrefix,
    s3Endpoint: parseEndpoint(env.S3_ENDPOINT),
    region: env.AWS_REGION || DEFAULT_REGION,
  };
  if (workload === "events") {
    return {
      ...common,
      workload,
      batchEvents: parseIntInRange("BATCH_EVENTS", env.BATCH_EVENTS, 1, MAX_BATCH_EVENTS),
      eventBytes: optionalInt(
        env,
        "EVENT_BYTES",
        EVENT_BYTES.min,
        EVENT_BYTES.max,
        EVENT_BYTES.default,
      ),
    };
  }
  return { ...common, workload, ...batchPlan(env, common.memoryMb) };
}

function batchPlan(
  env: Environment,
  memoryMb: number,
): Omit<BatchSettings, keyof CommonSettings | "workload"> {
  const minMb = S3_MULTIPART.minPartBytes / MIB;
  const maxMb = S3_MULTIPART.maxPartBytes / MIB;
  const multipartMb = parseIntInRange("MULTIPART_MB", env.MULTIPART_MB, minMb, maxMb);
  const budget = partBudgetMib(memoryMb);
  if (multipartMb > budget) {
    throw new InvalidInputError(
      "MULTIPART_MB",
      env.MULTIPART_MB,
      `a part that fits in memory: at most ${budget} with MEMORY_MB=${memoryMb} ` +
        `(${PART_MEMORY_SHARE * 100}% of memory beyond ${RUNTIME_RESERVE_MIB} MiB)`,
    );
  }
  const maxObjectMb = multipartMb * S3_MULTIPART.maxParts;
  const objectMb = optionalInt(env, "OBJECT_MB", OBJECT_MB.min, MAX_OBJECT_MB, OBJECT_MB.default);
  if (objectMb > maxObjectMb) {
    throw new InvalidInputError(
      "OBJECT_MB",
      env.OBJECT_MB,
      `at most ${maxObjectMb} with MULTIPART_MB=${multipartMb} (${S3_MULTIPART.maxParts} parts)`,
    );
  }
  const partCount = Math.ceil(objectMb / multipartMb);
  return {
    multipartMb,
    objectMb,
    partBytes: multipartMb * MIB,
    objectBytes: objectMb * MIB,
    partCount,
    partsInFlight: partsInFlight(memoryMb, multipartMb, partCount),
  };
}
