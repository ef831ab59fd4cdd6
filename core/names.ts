import { type Cell, cellId, type Workload } from "./cell";
import { LAMBDA } from "./constants";
import { InvalidInputError } from "./errors";

/** Shape of a run identifier: `run_<epoch ms>_<6 random [a-z0-9]>`. */
export const RUN_ID_PATTERN = /^run_\d{13}_[a-z0-9]{6}$/;

const RUN_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A new run identifier. `random` returns numbers in [0, 1) and is injectable for tests.
 */
export function newRunId(nowMs: number = Date.now(), random: () => number = Math.random): string {
  let suffix = "";
  for (let i = 0; i < 6; i++) {
    suffix += RUN_ID_ALPHABET[Math.floor(random() * RUN_ID_ALPHABET.length)] ?? "0";
  }
  return `run_${nowMs}_${suffix}`;
}

/** Allowed shape of `NAME_PREFIX`: what Lambda allows in a function name. */
const NAME_PREFIX_PATTERN = /^[A-Za-z0-9_-]*$/;

/**
 * The function name of a cell: `{prefix}s3-experiment-{workload}-{memory}mb-{factor}-rc{reserved}`,
 * factor `b{BATCH_EVENTS}` or `p{MULTIPART_MB}mb`.
 */
export function functionName(cell: Cell, namePrefix = ""): string {
  if (!NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new InvalidInputError("NAME_PREFIX", namePrefix, "letters, digits, '-' and '_'");
  }
  const name = `${namePrefix}s3-experiment-${cellId(cell)}`;
  if (name.length > LAMBDA.maxFunctionNameLength) {
    throw new InvalidInputError(
      "NAME_PREFIX",
      namePrefix,
      `a prefix that keeps the function name "${name}" within ${LAMBDA.maxFunctionNameLength} characters`,
    );
  }
  return name;
}

/** The log group Lambda writes a function's logs to. */
export function logGroupName(fnName: string): string {
  return `/aws/lambda/${fnName}`;
}

/**
 * The S3 key of one ingested object: `{workload}/{memory}mb/{run_id}/{ts_ms}-{uuid}.jsonl`
 * (events, NDJSON) or `.bin` (batch).
 */
export function objectKey(
  workload: Workload,
  memoryMb: number,
  runId: string,
  tsMs: number,
  uuid: string,
): string {
  const ext = workload === "events" ? "jsonl" : "bin";
  return `${workload}/${memoryMb}mb/${runId}/${tsMs}-${uuid}.${ext}`;
}

/**
 * A bucket name for a cell on the local backend: lowercase, ≤ 63 characters, unique per run
 * through `suffix`. (On AWS, Pulumi auto-names buckets from the same prefix.)
 */
export function localBucketName(cell: Cell, suffix: string): string {
  return `s3x-${cellId(cell)}-${suffix}`.toLowerCase().slice(0, 63).replace(/-+$/, "");
}
