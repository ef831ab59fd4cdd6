/**
 * Flags of `automation/run.ts`: parsing and validation. Every bad flag or value throws
 * {@link InvalidInputError} naming the flag, the value and what is allowed (exit 2). The load
 * flags are parsed in load-flags.ts, the usage text is usage.ts, the defaults run-defaults.ts.
 */
import { availableParallelism } from "node:os";
import {
  type Architecture,
  type Cell,
  type CellSettings,
  DEFAULT_CELL_SETTINGS,
  type Workload,
} from "../core/cell";
import { type FlagSpecs, parseFlags } from "../core/cli";
import { ARCHITECTURES, EVENT_BYTES, LOOP_DEFAULTS } from "../core/constants";
import { InvalidInputError, parseIntInRange, parseNumberInRange, parseOneOf } from "../core/errors";
import { parseMatrix } from "../core/matrix";
import { parseNamePrefix } from "../core/names";
import { PRECISION_DEFAULTS } from "../core/precision";
import { parseRegion } from "../core/region";
import type { Backend, LoadModel } from "../core/run-files";
import { DEFAULT_INVOCATIONS, perWorkload, sameForAll } from "../core/workloads";
import type { NetworkEmulation } from "../local/lambda/network";
import {
  expectedPerTrial,
  type LocalS3Storage,
  type PerWorkloadDefault,
  parseConcurrency,
  parseInvocations,
  parseLoad,
  parseLocalNetwork,
  parseLocalS3Storage,
} from "./load-flags";
import { localConcurrency } from "./local-capacity";
import { AWS_DEFAULT_PARALLEL, LOCAL_DEFAULTS } from "./run-defaults";

/** What the CLI was asked to do. */
export type RunMode = "run" | "resume" | "cleanup" | "reharvest" | "help";

/** Validated options of a new run. */
export interface RunOptions {
  readonly backend: Backend;
  /** The `--matrix` spec as given. */
  readonly matrix: string;
  readonly cells: readonly Cell[];
  /** Invocations per trial: closed loop as set; open loop the expected R × S, rounded. */
  readonly invocations: Readonly<Record<Workload, number>>;
  readonly trials: number;
  /** Closed loop: offered client concurrency per workload (open loop: the seed's, unused). */
  readonly concurrency: Readonly<Record<Workload, number>>;
  readonly parallel: number;
  /** Seed of the randomised cell order. */
  readonly seed: number;
  readonly settings: CellSettings;
  /** Warm-up invocations per cell before trial 1 (trial 0), by workload; 0 for none. */
  readonly warmup: Readonly<Record<Workload, number>>;
  /** Closed loop (`--invocations`, `--concurrency`) or open loop (`--arrival-rate`, `--duration`). */
  readonly load: LoadModel;
  /** What the plan's precision line is computed for (`--precision`, `--sigma`). */
  readonly precision: { readonly relativePct: number; readonly sigma: number };
  readonly out?: string;
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** Local defaults that replaced the seed's because the flag was not set: name → value. */
  readonly localDefaults: Readonly<Record<string, unknown>>;
  /**
   * Local backend: Lambda's network to S3 to emulate (`--local-network-mbps`,
   * `--local-s3-latency-ms`), "off" when neither a ceiling nor a latency is wanted.
   * Undefined on aws.
   */
  readonly localNetwork?: NetworkEmulation | "off";
  /** Local backend: where the S3 server keeps the run's data (`--local-s3-storage`). */
  readonly localS3Storage?: LocalS3Storage;
}

/** The parsed command line. */
export type ParsedArgs =
  | { readonly mode: "help" }
  | { readonly mode: "run"; readonly options: RunOptions }
  | {
      readonly mode: "resume";
      readonly dir: string;
      readonly yes: boolean;
      readonly parallel?: number;
    }
  | { readonly mode: "cleanup"; readonly dir: string }
  | { readonly mode: "reharvest"; readonly dir: string };

/** The flags of `automation/run.ts` (`-h`/`--help` come with {@link parseFlags}). */
const FLAGS = {
  matrix: { type: "string" },
  invocations: { type: "string" },
  trials: { type: "string" },
  concurrency: { type: "string" },
  backend: { type: "string" },
  region: { type: "string" },
  architecture: { type: "string" },
  "object-mb": { type: "string" },
  "event-bytes": { type: "string" },
  parallel: { type: "string" },
  out: { type: "string" },
  resume: { type: "string" },
  cleanup: { type: "string" },
  reharvest: { type: "string" },
  seed: { type: "string" },
  "name-prefix": { type: "string" },
  warmup: { type: "string" },
  "arrival-rate": { type: "string" },
  duration: { type: "string" },
  precision: { type: "string" },
  sigma: { type: "string" },
  "local-network-mbps": { type: "string" },
  "local-s3-latency-ms": { type: "string" },
  "local-s3-storage": { type: "string" },
  "dry-run": { type: "boolean" },
  yes: { type: "boolean" },
} as const satisfies FlagSpecs;

type ValueFlag = {
  [K in keyof typeof FLAGS]: (typeof FLAGS)[K]["type"] extends "string" ? `--${K}` : never;
}[keyof typeof FLAGS];

/**
 * Parses the command line. `random` draws the order seed when `--seed` is not given; `cores`
 * sizes the local default `--concurrency` (automation/local-capacity.ts `localConcurrency`).
 */
export function parseArgs(
  argv: readonly string[],
  random: () => number = Math.random,
  env: NodeJS.ProcessEnv = {},
  cores: number = availableParallelism(),
): ParsedArgs {
  const parsed = parseFlags(argv, FLAGS);
  if (parsed.help) return { mode: "help" };
  // "--flag" → value, in the order typed: what the checks below name.
  const flags = new Map<string, string | true>(
    parsed.given.map((name) => [`--${name}`, parsed.values[name] ?? true]),
  );
  const get = (f: ValueFlag): string | undefined => {
    const v = flags.get(f);
    return typeof v === "string" ? v : undefined;
  };

  const resume = get("--resume");
  const cleanup = get("--cleanup");
  const reharvest = get("--reharvest");
  if (resume !== undefined && cleanup !== undefined) {
    throw new InvalidInputError("--cleanup", cleanup, "either --resume or --cleanup, not both");
  }
  if (reharvest !== undefined) {
    for (const f of flags.keys()) {
      if (f !== "--reharvest") {
        throw new InvalidInputError(
          f,
          flags.get(f) === true ? "(set)" : flags.get(f),
          `no ${f} with --reharvest: it takes only the run directory (the backend and region come from ${reharvest}/manifest.json)`,
        );
      }
    }
    return { mode: "reharvest", dir: reharvest };
  }
  if (resume !== undefined || cleanup !== undefined) {
    const [flag, dir] = resume !== undefined ? ["--resume", resume] : ["--cleanup", cleanup ?? ""];
    const permitted = flag === "--resume" ? ["--resume", "--yes", "--parallel"] : ["--cleanup"];
    for (const f of flags.keys()) {
      if (!permitted.includes(f)) {
        throw new InvalidInputError(
          f,
          flags.get(f) === true ? "(set)" : flags.get(f),
          `no ${f} with ${flag}: the run's flags come from ${dir}/manifest.json (allowed with ${flag}: ${permitted.slice(1).join(", ") || "nothing"})`,
        );
      }
    }
    if (flag === "--cleanup") return { mode: "cleanup", dir };
    const parallelRaw = get("--parallel");
    return {
      mode: "resume",
      dir,
      yes: flags.has("--yes"),
      ...(parallelRaw === undefined
        ? {}
        : { parallel: parseIntInRange("--parallel", parallelRaw, 1, 54) }),
    };
  }

  const backend = parseOneOf<Backend>("--backend", get("--backend") ?? "local", ["local", "aws"]);
  const local = backend === "local";
  const localDefaults: Record<string, unknown> = {};
  /** The default of an unset flag: the seed's (aws) or the local one, which is recorded. */
  const dflt = <T>(flag: ValueFlag, awsDefault: T, localDefault: T): T => {
    if (!local) return awsDefault;
    localDefaults[flag.slice(2)] = localDefault;
    return localDefault;
  };
  /** The same for a per-workload flag: only the workloads left out are recorded. */
  const dfltPerWorkload =
    (
      flag: ValueFlag,
      awsDefault: Readonly<Record<Workload, number>>,
      localDefault: Readonly<Record<Workload, number>>,
    ): PerWorkloadDefault =>
    (missing) => {
      if (!local) return awsDefault;
      localDefaults[flag.slice(2)] = Object.fromEntries(missing.map((w) => [w, localDefault[w]]));
      return localDefault;
    };

  const matrix = get("--matrix") ?? "full";
  const cells = parseMatrix(matrix, "--matrix");

  const rateRaw = get("--arrival-rate");
  const durationRaw = get("--duration");
  const load = parseLoad(rateRaw, durationRaw, get("--invocations"), get("--concurrency"));

  const invocationsDefault = dfltPerWorkload(
    "--invocations",
    DEFAULT_INVOCATIONS,
    LOCAL_DEFAULTS.invocations,
  );
  const invocations =
    load.model === "open"
      ? expectedPerTrial(load)
      : parseInvocations(get("--invocations"), invocationsDefault);
  const trialsRaw = get("--trials");
  const trials =
    trialsRaw === undefined
      ? dflt<number>("--trials", LOOP_DEFAULTS.trials, LOCAL_DEFAULTS.trials)
      : parseIntInRange("--trials", trialsRaw, 1, 100);
  const concurrencyDefault = dfltPerWorkload(
    "--concurrency",
    sameForAll(LOOP_DEFAULTS.concurrency),
    localConcurrency(cores),
  );
  // The open loop has no client concurrency; its warm-up below sends the seed's at once.
  const concurrency =
    load.model === "open"
      ? sameForAll(LOOP_DEFAULTS.concurrency)
      : parseConcurrency(get("--concurrency"), concurrencyDefault);
  const parallelRaw = get("--parallel");
  const parallel =
    parallelRaw === undefined
      ? dflt<number>("--parallel", AWS_DEFAULT_PARALLEL, LOCAL_DEFAULTS.parallel)
      : parseIntInRange("--parallel", parallelRaw, 1, 54);
  const warmupRaw = get("--warmup");
  // One invocation per slot the trials use: a closed-loop trial of N < C invocations runs
  // only N slots (the batch workload's 3 locally), so more would warm environments it never uses.
  const warmupN =
    warmupRaw === undefined ? undefined : parseIntInRange("--warmup", warmupRaw, 0, 1000);
  const warmup: Readonly<Record<Workload, number>> =
    warmupN !== undefined
      ? sameForAll(warmupN)
      : load.model === "closed"
        ? perWorkload((_, w) => Math.min(concurrency[w], invocations[w]))
        : sameForAll(LOOP_DEFAULTS.concurrency);
  const precision = {
    relativePct: parseNumberInRange(
      "--precision",
      get("--precision") ?? String(PRECISION_DEFAULTS.relativePct),
      0.1,
      100,
    ),
    sigma: parseNumberInRange(
      "--sigma",
      get("--sigma") ?? String(PRECISION_DEFAULTS.sigma),
      0.01,
      5,
    ),
  };
  const objectMb = parseIntInRange(
    "--object-mb",
    get("--object-mb") ?? String(DEFAULT_CELL_SETTINGS.objectMb),
    1,
    10_240,
  );
  const eventBytes = parseIntInRange(
    "--event-bytes",
    get("--event-bytes") ?? String(EVENT_BYTES.default),
    EVENT_BYTES.min,
    EVENT_BYTES.max,
  );
  // --region, else AWS_REGION as the AWS CLI and SDKs read it, else the default; each checked
  // under the name the user set.
  const regionFlag = get("--region");
  const envRegion = env.AWS_REGION === "" ? undefined : env.AWS_REGION;
  const region =
    regionFlag !== undefined
      ? parseRegion("--region", regionFlag)
      : envRegion !== undefined
        ? parseRegion("AWS_REGION", envRegion)
        : DEFAULT_CELL_SETTINGS.region;
  const architecture = parseOneOf<Architecture>(
    "--architecture",
    get("--architecture") ?? DEFAULT_CELL_SETTINGS.architecture,
    ARCHITECTURES,
  );
  const namePrefix = parseNamePrefix("--name-prefix", get("--name-prefix") ?? "");
  const seedRaw = get("--seed");
  const seed =
    seedRaw === undefined
      ? Math.floor(random() * 2 ** 32)
      : parseIntInRange("--seed", seedRaw, 0, 2 ** 32 - 1);

  const localNetwork = parseLocalNetwork(
    local,
    get("--local-network-mbps"),
    get("--local-s3-latency-ms"),
  );
  const localS3Storage = parseLocalS3Storage(local, get("--local-s3-storage"));
  const out = get("--out");
  return {
    mode: "run",
    options: {
      backend,
      matrix,
      cells,
      invocations,
      trials,
      concurrency,
      parallel,
      seed,
      warmup,
      load,
      precision,
      settings: { eventBytes, objectMb, architecture, namePrefix, region },
      ...(out === undefined ? {} : { out }),
      dryRun: flags.has("--dry-run"),
      yes: flags.has("--yes"),
      localDefaults,
      ...(localNetwork === undefined ? {} : { localNetwork }),
      ...(localS3Storage === undefined ? {} : { localS3Storage }),
    },
  };
}
