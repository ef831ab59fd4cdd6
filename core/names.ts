import { type Cell, cellId, type Workload } from "./cell";
import { LAMBDA } from "./constants";
import { InvalidInputError } from "./errors";
import { fullMatrix } from "./matrix";
import { workloadSpec } from "./workloads";

/** Shape of a run identifier: `run_<epoch ms>_<6 random [a-z0-9]>`. */
export const RUN_ID_PATTERN = /^run_\d{13}_[a-z0-9]{6}$/;

/** What a run id given in an invocation's event may look like: it becomes part of an S3 key. */
export const RUN_ID_INPUT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** {@link RUN_ID_INPUT_PATTERN} in words, for error messages. */
export const RUN_ID_INPUT_ALLOWED =
  "1 to 128 letters, digits, '.', '_' and '-', starting with a letter or digit";

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

/** Shape of a run tag: 6 of [a-z0-9] (recorded as `run_tag` in manifest.json). */
export const RUN_TAG_PATTERN = /^[a-z0-9]{6}$/;

/**
 * A new run tag: appended to every function name of one experiment run, so that a function
 * leaked by an earlier run, or a second run in the same account and region, never collides
 * with this run's (Lambda names are unique per account and region; a second create is
 * ResourceConflictException). 36^6 ≈ 2.2 billion tags. `random` is injectable for tests.
 */
export function newRunTag(random: () => number = Math.random): string {
  let tag = "";
  for (let i = 0; i < 6; i++) {
    tag += RUN_ID_ALPHABET[Math.floor(random() * RUN_ID_ALPHABET.length)] ?? "0";
  }
  return tag;
}

/**
 * The highest deploy attempt of one cell in one run that still gets a name of its own
 * (`-2` … `-99`; see {@link functionName}): far more `--resume`s than a run ever needs, and
 * what {@link MAX_NAME_PREFIX_LENGTH} reserves room for.
 */
export const MAX_DEPLOY_ATTEMPT = 99;

/**
 * The function name of a cell:
 * `{prefix}s3-experiment-{workload}-{memory}mb-{factor}-rc{reserved}[-{runTag}][-{attempt}]`,
 * factor `b{BATCH_EVENTS}` or `p{MULTIPART_MB}mb`. The run tag (see {@link newRunTag}) is
 * absent in runs made before it existed and in the manually deployed dev stack. `attempt` is
 * the cell's deploy attempt in this run (1 for the first, no suffix; `-2`, `-3`… for each
 * redeploy by `--resume`): the log group of a destroyed attempt is retained (CreateLogGroup of
 * the same name is ResourceAlreadyExistsException) and a function leaked by an interrupted
 * attempt still holds its name (ResourceConflictException), so every attempt has its own.
 */
export function functionName(cell: Cell, namePrefix = "", runTag = "", attempt = 1): string {
  if (!NAME_PREFIX_PATTERN.test(namePrefix)) {
    throw new InvalidInputError("NAME_PREFIX", namePrefix, "letters, digits, '-' and '_'");
  }
  if (runTag !== "" && !RUN_TAG_PATTERN.test(runTag)) {
    throw new InvalidInputError("run tag", runTag, "6 lowercase letters or digits, or none");
  }
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_DEPLOY_ATTEMPT) {
    throw new InvalidInputError(
      "deploy attempt",
      attempt,
      `an integer from 1 to ${MAX_DEPLOY_ATTEMPT} (a cell redeployed more often needs a new run)`,
    );
  }
  const name =
    `${namePrefix}s3-experiment-${cellId(cell)}` +
    `${runTag === "" ? "" : `-${runTag}`}${attempt === 1 ? "" : `-${attempt}`}`;
  if (name.length > LAMBDA.maxFunctionNameLength) {
    throw new InvalidInputError(
      "NAME_PREFIX",
      namePrefix,
      `a prefix that keeps the function name "${name}" within ${LAMBDA.maxFunctionNameLength} characters`,
    );
  }
  return name;
}

/**
 * The longest `NAME_PREFIX` a new run may take: what Lambda's 64 characters leave beside the
 * longest cell's name with a run tag and the highest deploy attempt
 * (`s3-experiment-events-1024mb-b100-rc10-xxxxxx-99`, 47).
 */
export const MAX_NAME_PREFIX_LENGTH = maxNamePrefixLength(true);

/**
 * The longest `NAME_PREFIX` beside the longest cell's function name: with a run tag and the
 * longest deploy-attempt suffix (an experiment run's names), or without either (serve mode).
 */
function maxNamePrefixLength(withRunTag: boolean): number {
  const tag = withRunTag ? "000000" : "";
  const attempt = withRunTag ? MAX_DEPLOY_ATTEMPT : 1;
  return (
    LAMBDA.maxFunctionNameLength -
    Math.max(...fullMatrix().map((cell) => functionName(cell, "", tag, attempt).length))
  );
}

/**
 * Checks a `NAME_PREFIX` given as `input` (a flag): Lambda's function-name characters, short
 * enough for every cell's name (`withRunTag`: the names of an experiment run carry a run tag and,
 * from a cell's second deploy attempt, an attempt suffix).
 * @throws InvalidInputError naming `input`, the value and what is allowed.
 */
export function parseNamePrefix(input: string, raw: string, withRunTag = true): string {
  const max = maxNamePrefixLength(withRunTag);
  if (!NAME_PREFIX_PATTERN.test(raw) || raw.length > max) {
    const why = withRunTag
      ? `function names also carry a 7-character run tag and, from a cell's second deploy attempt, a suffix of up to 3 characters, within Lambda's ${LAMBDA.maxFunctionNameLength}`
      : `function names stay within Lambda's ${LAMBDA.maxFunctionNameLength}`;
    throw new InvalidInputError(input, raw, `up to ${max} letters, digits, '-' and '_' (${why})`);
  }
  return raw;
}

/** The log group Lambda writes a function's logs to. */
export function logGroupName(fnName: string): string {
  return `/aws/lambda/${fnName}`;
}

/**
 * The S3 key of one ingested object: `{workload}/{memory}mb/{run_id}/{ts_ms}-{uuid}.{suffix}`,
 * the workload's key suffix (`jsonl` for events, NDJSON; `bin` for batch).
 */
export function objectKey(
  workload: Workload,
  memoryMb: number,
  runId: string,
  tsMs: number,
  uuid: string,
): string {
  return `${workload}/${memoryMb}mb/${runId}/${tsMs}-${uuid}.${workloadSpec(workload).keySuffix}`;
}

/**
 * A bucket name for a cell on the local backend: lowercase, ≤ 63 characters, unique per run
 * through `suffix`. (On AWS, Pulumi auto-names buckets from the same prefix.)
 */
export function localBucketName(cell: Cell, suffix: string): string {
  return `s3x-${cellId(cell)}-${suffix}`.toLowerCase().slice(0, 63).replace(/-+$/, "");
}
