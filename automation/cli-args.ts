/**
 * Flags of `automation/run.ts`: parsing and validation. Every bad flag or value throws
 * {@link InvalidInputError} naming the flag, the value and what is allowed (exit 2).
 */
import {
  type Architecture,
  type Cell,
  type CellSettings,
  DEFAULT_CELL_SETTINGS,
  type Workload,
} from "../core/cell";
import { type FlagSpecs, parseFlags } from "../core/cli";
import {
  ARCHITECTURES,
  DEFAULT_NETWORK_MBPS,
  DEFAULT_S3_LATENCY_MS,
  EVENT_BYTES,
  LOOP_DEFAULTS,
  MAX_IN_FLIGHT,
} from "../core/constants";
import { InvalidInputError, parseIntInRange, parseNumberInRange, parseOneOf } from "../core/errors";
import { MATRIX_SYNTAX, parseMatrix } from "../core/matrix";
import { parseNamePrefix } from "../core/names";
import { PRECISION_DEFAULTS } from "../core/precision";
import { parseRegion } from "../core/region";
import type { Backend, LoadModel } from "../core/run-files";
import {
  DEFAULT_INVOCATIONS,
  LOCAL_INVOCATIONS,
  perWorkload,
  sameForAll,
  WORKLOADS,
} from "../core/workloads";
import type { NetworkEmulation } from "../local/lambda/network";

/**
 * Defaults of the local backend where the seed's AWS defaults (50/20 invocations, 5 trials)
 * would not finish the full matrix within 10 minutes on a 2-core machine. Applied only to
 * flags the user did not set; recorded in the manifest and printed. Three trials keep
 * within-cell replicates for the analysis; 30 events invocations at concurrency 20 still
 * exceed reserved level 10 (so it throttles, as on AWS); the batch workload keeps the seed's
 * 100 MiB objects (two parts at 64 MiB) with 3 invocations per trial.
 */
export const LOCAL_DEFAULTS = {
  invocations: LOCAL_INVOCATIONS,
  trials: 3,
  parallel: 1,
} as const;

/** Why each local default differs from the seed's, for the manifest. */
export const LOCAL_DEFAULT_REASONS: Readonly<Record<string, string>> = {
  invocations:
    "fewer than the seed's 50 events / 20 batch so the full matrix finishes within 10 minutes on 2 cores",
  trials: "fewer than the seed's 5 for the same reason; still replicated within each cell",
  parallel:
    "one cell at a time: two cells at once share this machine's cores and disk and slow each other down (batch ×1.8 when overlapped); more with --parallel, and each trial journals the cells that ran beside it (concurrent_cells)",
};

/** Limits of the open loop's flags. */
export const OPEN_LOOP = {
  minRate: 0.1,
  maxRate: 1000,
  maxDurationS: 3600,
  /** The same bound as `--invocations`: at most this many expected invocations per trial. */
  maxExpectedPerTrial: 10_000,
} as const;

/** `--parallel` default on AWS: one stack at a time keeps the account's concurrency safe. */
export const AWS_DEFAULT_PARALLEL = 1;

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
  readonly concurrency: number;
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
  "dry-run": { type: "boolean" },
  yes: { type: "boolean" },
} as const satisfies FlagSpecs;

type ValueFlag = {
  [K in keyof typeof FLAGS]: (typeof FLAGS)[K]["type"] extends "string" ? `--${K}` : never;
}[keyof typeof FLAGS];

/** `--help` text. */
export const USAGE = `Usage: npx ts-node automation/run.ts [flags]

Runs the factorial experiment: for each cell deploy -> trials x invocations -> harvest -> destroy,
and writes a run directory that \`npm run analyze\` reads.

  --matrix SPEC        ${MATRIX_SYNTAX} (default full)
  --invocations N      invocations per trial, both workloads; or per workload:
                       events=N,batch=M (default events=${DEFAULT_INVOCATIONS.events},batch=${DEFAULT_INVOCATIONS.batch} on aws;
                       events=${LOCAL_DEFAULTS.invocations.events},batch=${LOCAL_DEFAULTS.invocations.batch} on local)
  --trials T           trials per cell, each with its own run_id (default ${LOOP_DEFAULTS.trials} aws, ${LOCAL_DEFAULTS.trials} local)
  --concurrency C      offered client concurrency (default ${LOOP_DEFAULTS.concurrency})
                       --invocations and --concurrency make the closed loop (the default): C slots,
                       each sending its next invocation when the previous one returns
  --arrival-rate R     open loop instead: Poisson arrivals, R invocations per second (${OPEN_LOOP.minRate}-${OPEN_LOOP.maxRate}),
                       seeded from --seed, each sent at its time whatever is in flight; needs
                       --duration, excludes --invocations and --concurrency
  --duration S         open loop: seconds of arrivals per trial (1-${OPEN_LOOP.maxDurationS}; R x S <= ${OPEN_LOOP.maxExpectedPerTrial})
  --warmup N           warm-up invocations per cell before trial 1, recorded as trial 0 and
                       excluded from warm statistics; 0 turns it off (default: one per slot the
                       trials use, min(C, N) closed loop; ${LOOP_DEFAULTS.concurrency} open loop, sent all at once)
  --precision X        the plan says how many invocations a cell needs for +-X % on its warm p95
                       (default ${PRECISION_DEFAULTS.relativePct})
  --sigma S            the log-normal spread (sigma of ln latency) that figure assumes (default ${PRECISION_DEFAULTS.sigma})
  --backend B          local (default: embedded S3 + Lambda runtime) or aws (Pulumi Automation API)
  --region R           AWS region (default $AWS_REGION, else ${DEFAULT_CELL_SETTINGS.region})
  --architecture A     ${ARCHITECTURES.join(" or ")} (default ${DEFAULT_CELL_SETTINGS.architecture})
  --object-mb M        batch object size in MiB (default ${DEFAULT_CELL_SETTINGS.objectMb})
  --event-bytes B      bytes per event, ${EVENT_BYTES.min}-${EVENT_BYTES.max} (default ${EVENT_BYTES.default})
  --parallel P         cells deployed and run at once (default ${AWS_DEFAULT_PARALLEL} aws, ${LOCAL_DEFAULTS.parallel} local)
  --local-network-mbps N|off
                       local: each environment's bandwidth ceiling to S3 per direction, Mbit/s
                       (default ${DEFAULT_NETWORK_MBPS}, Lambda's ≈ 78 MB/s); off for none
  --local-s3-latency-ms L
                       local: added before each S3 response, ms (default ${DEFAULT_S3_LATENCY_MS}); 0 for none
  --seed S             seed of the randomised cell order and of the open loop's arrivals
                       (default: random, recorded)
  --name-prefix P      prefix of every function name (NAME_PREFIX)
  --out DIR            run directory (default results/<timestamp>-<backend>)
  --resume DIR         finish an interrupted run: skips done cells, redoes unfinished ones
                       (flags come from DIR/manifest.json; only --yes and --parallel allowed)
  --cleanup DIR        destroy everything DIR/ledger.jsonl says may still be live
  --reharvest DIR      collect again the records of DIR's runs that were left incomplete
                       (CloudWatch Logs keeps the cells' log groups); exit 0 when nothing is
                       missing any more, 1 when records still are
  --dry-run            print the plan and cost estimate, create nothing; needs neither the
                       Pulumi CLI nor AWS credentials (the real run checks both first)
  --yes                do not ask for confirmation (--backend aws)
  -h, --help           this text

Exit codes: 0 success, 1 a cell or the run failed, 2 bad flags, 130 interrupted.
`;

/** What `--invocations` takes, for its error message and the plan's hint. */
export const INVOCATIONS_SYNTAX = `N for both workloads or events=N,batch=M (either or both), N from 1 to ${OPEN_LOOP.maxExpectedPerTrial}`;

/** `--invocations` as the user can type it: `events=30,batch=3`. */
export function formatInvocations(inv: Readonly<Partial<Record<Workload, number>>>): string {
  return WORKLOADS.flatMap((w) => (inv[w] === undefined ? [] : [`${w}=${inv[w]}`])).join(",");
}

/** A local default as the flag that sets it, e.g. `--invocations events=30,batch=3`. */
export function localDefaultFlag(name: string, value: unknown): string {
  const text =
    name === "invocations" && typeof value === "object" && value !== null
      ? formatInvocations(value as Partial<Record<Workload, number>>)
      : String(value);
  return `--${name} ${text}`;
}

/**
 * `--invocations N` (both workloads) or `events=N,batch=M` (either or both; an unnamed one
 * keeps its default, from `dflt`).
 */
function parseInvocations(
  raw: string,
  dflt: () => Readonly<Record<Workload, number>>,
): Readonly<Record<Workload, number>> {
  const max = OPEN_LOOP.maxExpectedPerTrial;
  const bad = () => new InvalidInputError("--invocations", raw, INVOCATIONS_SYNTAX);
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > max) throw bad();
    return sameForAll(n);
  }
  const given: Partial<Record<Workload, number>> = {};
  for (const part of raw.split(",")) {
    const m = /^(\w+)=(\d+)$/.exec(part);
    const w = m?.[1] as Workload | undefined;
    const n = Number(m?.[2]);
    if (w === undefined || !WORKLOADS.includes(w) || w in given || n < 1 || n > max) throw bad();
    given[w] = n;
  }
  const base = WORKLOADS.every((w) => w in given) ? undefined : dflt();
  return perWorkload((_, w) => given[w] ?? base?.[w] ?? 0);
}

/** Open loop: the expected invocations per trial, R × S rounded, for both workloads. */
function expectedPerTrial(load: {
  readonly arrival_rate_per_s: number;
  readonly duration_s: number;
}): Readonly<Record<Workload, number>> {
  return sameForAll(Math.max(1, Math.round(load.arrival_rate_per_s * load.duration_s)));
}

/**
 * The load model from its flags: `--arrival-rate` and `--duration` together make the open loop
 * and exclude the closed loop's `--invocations` and `--concurrency`; neither is the closed loop.
 */
function parseLoad(
  rateRaw: string | undefined,
  durationRaw: string | undefined,
  invocationsRaw: string | undefined,
  concurrencyRaw: string | undefined,
): LoadModel {
  if (rateRaw === undefined && durationRaw === undefined) return { model: "closed" };
  if (rateRaw === undefined) {
    throw new InvalidInputError(
      "--arrival-rate",
      undefined,
      "an arrival rate with --duration (the open loop needs --arrival-rate R and --duration S)",
    );
  }
  if (durationRaw === undefined) {
    throw new InvalidInputError(
      "--duration",
      undefined,
      "seconds per trial with --arrival-rate (the open loop needs --arrival-rate R and --duration S)",
    );
  }
  for (const [flag, raw] of [
    ["--invocations", invocationsRaw],
    ["--concurrency", concurrencyRaw],
  ] as const) {
    if (raw !== undefined) {
      throw new InvalidInputError(
        flag,
        raw,
        `no ${flag} with --arrival-rate: the open loop sends rate x duration invocations per trial (--invocations and --concurrency belong to the closed loop)`,
      );
    }
  }
  const rate = parseNumberInRange("--arrival-rate", rateRaw, OPEN_LOOP.minRate, OPEN_LOOP.maxRate);
  const duration = parseIntInRange("--duration", durationRaw, 1, OPEN_LOOP.maxDurationS);
  if (rate * duration > OPEN_LOOP.maxExpectedPerTrial) {
    throw new InvalidInputError(
      "--duration",
      durationRaw,
      `at most ${OPEN_LOOP.maxExpectedPerTrial} expected invocations per trial: --arrival-rate ${rateRaw} x --duration ${durationRaw} = ${rate * duration}`,
    );
  }
  return { model: "open", arrival_rate_per_s: rate, duration_s: duration };
}

/**
 * Parses the command line. `random` draws the order seed when `--seed` is not given.
 */
export function parseArgs(
  argv: readonly string[],
  random: () => number = Math.random,
  env: NodeJS.ProcessEnv = {},
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

  const matrix = get("--matrix") ?? "full";
  const cells = parseMatrix(matrix, "--matrix");

  const rateRaw = get("--arrival-rate");
  const durationRaw = get("--duration");
  const load = parseLoad(rateRaw, durationRaw, get("--invocations"), get("--concurrency"));

  const invRaw = get("--invocations");
  const invocationsDefault = () =>
    dflt<Readonly<Record<Workload, number>>>(
      "--invocations",
      DEFAULT_INVOCATIONS,
      LOCAL_DEFAULTS.invocations,
    );
  const invocations =
    load.model === "open"
      ? expectedPerTrial(load)
      : invRaw === undefined
        ? invocationsDefault()
        : parseInvocations(invRaw, invocationsDefault);
  const trialsRaw = get("--trials");
  const trials =
    trialsRaw === undefined
      ? dflt<number>("--trials", LOOP_DEFAULTS.trials, LOCAL_DEFAULTS.trials)
      : parseIntInRange("--trials", trialsRaw, 1, 100);
  const concurrency = parseIntInRange(
    "--concurrency",
    get("--concurrency") ?? String(LOOP_DEFAULTS.concurrency),
    1,
    MAX_IN_FLIGHT,
  );
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
        ? perWorkload((_, w) => Math.min(concurrency, invocations[w]))
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
    },
  };
}

/** `--local-network-mbps N|off` and `--local-s3-latency-ms L`: local only. */
function parseLocalNetwork(
  local: boolean,
  mbpsRaw: string | undefined,
  latencyRaw: string | undefined,
): NetworkEmulation | "off" | undefined {
  if (!local) {
    for (const [flag, v] of [
      ["--local-network-mbps", mbpsRaw],
      ["--local-s3-latency-ms", latencyRaw],
    ] as const) {
      if (v !== undefined)
        throw new InvalidInputError(flag, v, "nothing with --backend aws (local backend only)");
    }
    return undefined;
  }
  let mbps: number | undefined;
  if (mbpsRaw !== "off") {
    try {
      mbps = parseNumberInRange(
        "--local-network-mbps",
        mbpsRaw ?? String(DEFAULT_NETWORK_MBPS),
        1,
        100_000,
      );
    } catch {
      throw new InvalidInputError(
        "--local-network-mbps",
        mbpsRaw,
        "a number of Mbit/s from 1 to 100000, or off",
      );
    }
  }
  const s3LatencyMs = parseNumberInRange(
    "--local-s3-latency-ms",
    latencyRaw ?? String(DEFAULT_S3_LATENCY_MS),
    0,
    10_000,
  );
  if (mbps === undefined && s3LatencyMs === 0) return "off";
  return mbps === undefined ? { s3LatencyMs } : { mbps, s3LatencyMs };
}
