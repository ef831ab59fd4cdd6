import { resolve } from "node:path";
import { type FlagSpecs, parseFlags } from "../core/cli";
import { makeDirectory } from "../core/dirs";
import { InvalidInputError, isInvalidInputError } from "../core/errors";
import { DEFAULT_PRICING, loadPricing, type Pricing } from "../core/pricing";
import { OUTPUT_FILES, type OutputPaths, outputPaths } from "./output-paths";
import {
  DEFAULT_BALANCED_WEIGHT,
  DEFAULT_EVENT_RATE_PER_S,
  parseBalancedWeight,
  parseStrategy,
  STRATEGIES,
} from "./pick";

/** Usage text of `npm run analyze`. */
export const USAGE = `Usage: npm run analyze -- <run directory> [options]

Turns a run directory (results/<run>) into results.csv, summary.txt, pivot.csv, p95.csv,
cost.csv, effects.csv, recommendation.json and a self-contained report.html, and prints the
one-line answer per workload.

Options:
  --out-dir DIR          write outputs to DIR (default: the run directory)
  --output-summary FILE  summary path (seed flag; default <out>/${OUTPUT_FILES.summary})
  --output-pivot FILE    pivot path (seed flag; default <out>/${OUTPUT_FILES.pivot})
  --output-p95 FILE      per-cell p95 path (seed flag; default <out>/${OUTPUT_FILES.p95})
  --output-results FILE  results path (default <out>/${OUTPUT_FILES.results})
  --pricing FILE         JSON file overriding prices (fields of core/pricing.ts Pricing)
  --strategy S           pick within the best set: ${STRATEGIES.join(", ")} (default cost)
  --balanced-weight W    cost weight of the balanced strategy, 0 (speed) to 1 (cost)
                         (default ${DEFAULT_BALANCED_WEIGHT})
  --event-rate R         stated event arrival rate, events/s, for the per-event latency
                         (default ${DEFAULT_EVENT_RATE_PER_S})
  -h, --help             show this help

Exit codes: 0 done, 1 failure, 2 bad input.
`;

/** The value flags of `npm run analyze` (`-h`/`--help` come with {@link parseFlags}). */
const FLAGS = {
  "out-dir": { type: "string" },
  "output-summary": { type: "string" },
  "output-pivot": { type: "string" },
  "output-p95": { type: "string" },
  "output-results": { type: "string" },
  pricing: { type: "string" },
  strategy: { type: "string" },
  "balanced-weight": { type: "string" },
  "event-rate": { type: "string" },
} as const satisfies FlagSpecs;

type ValueFlag = `--${keyof typeof FLAGS}`;

const RUN_DIR = "exactly one run directory, e.g. npm run analyze -- results/<run>";

/** Parsed command line. */
export interface CliOptions {
  readonly help: boolean;
  readonly runDir: string;
  readonly values: Readonly<Partial<Record<ValueFlag, string>>>;
}

/** Parses argv (without node and script); throws {@link InvalidInputError} on bad flags. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const parsed = parseFlags(argv, FLAGS, { name: "run directory", max: 1, allowed: RUN_DIR });
  if (parsed.help) return { help: true, runDir: "", values: {} };
  const values: Partial<Record<ValueFlag, string>> = {};
  for (const name of parsed.given) {
    const value = parsed.values[name] ?? "";
    if (value === "") throw new InvalidInputError(`--${name}`, value, "a value after the flag");
    values[`--${name}`] = value;
  }
  const [runDir] = parsed.positionals;
  if (runDir === undefined) {
    throw new InvalidInputError("run directory", undefined, RUN_DIR);
  }
  return { help: false, runDir, values };
}

/** `npm run analyze`: returns the exit code (0 done, 1 failure, 2 bad input). */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const opts = parseArgs(argv);
    if (opts.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const v = opts.values;
    const pricing: Pricing =
      v["--pricing"] !== undefined ? loadPricing(v["--pricing"]) : DEFAULT_PRICING;
    const strategy =
      v["--strategy"] !== undefined ? parseStrategy("--strategy", v["--strategy"]) : "cost";
    const balancedWeight =
      v["--balanced-weight"] !== undefined
        ? parseBalancedWeight("--balanced-weight", v["--balanced-weight"])
        : DEFAULT_BALANCED_WEIGHT;
    const eventRate = v["--event-rate"] !== undefined ? Number(v["--event-rate"]) : undefined;
    if (eventRate !== undefined && !(Number.isFinite(eventRate) && eventRate > 0)) {
      throw new InvalidInputError("--event-rate", v["--event-rate"], "a number of events/s > 0");
    }
    const runDir = resolve(opts.runDir);
    const outDir = resolve(v["--out-dir"] ?? runDir);
    const overrides: Partial<OutputPaths> = {
      ...(v["--output-summary"] !== undefined ? { summary: resolve(v["--output-summary"]) } : {}),
      ...(v["--output-pivot"] !== undefined ? { pivot: resolve(v["--output-pivot"]) } : {}),
      ...(v["--output-p95"] !== undefined ? { p95: resolve(v["--output-p95"]) } : {}),
      ...(v["--output-results"] !== undefined ? { results: resolve(v["--output-results"]) } : {}),
    };
    const paths = outputPaths(outDir, overrides);
    // Before the analysis: an --out-dir that cannot be made is bad input, said at once.
    if (v["--out-dir"] !== undefined) makeDirectory("--out-dir", v["--out-dir"], outDir);
    // Loaded only now: the analysis and its outputs (danfojs, TensorFlow.js) take a second to
    // load, which --help and bad flags must not wait for.
    const { analyseRun } = await import("./analyze");
    const { writeOutputs } = await import("./outputs");
    const analysis = analyseRun(runDir, {
      pricing,
      strategy,
      balancedWeight,
      ...(eventRate !== undefined ? { eventRatePerS: eventRate } : {}),
    });
    writeOutputs(analysis, paths, outDir);
    const s = analysis.skipped;
    const skippedTotal =
      s.recordsMalformed +
      s.recordsForeign +
      s.recordsDuplicate +
      s.recordsOutOfBounds +
      s.invocationsMalformed +
      s.invocationsDuplicate +
      s.invocationsOutOfBounds;
    process.stdout.write(
      `Analysed ${analysis.runs.length} runs in ${analysis.cells.length} cells (${skippedTotal} lines skipped).\n` +
        Object.values(paths)
          .map((p) => `  wrote ${p}\n`)
          .join("") +
        analysis.picks.map((p) => `Answer: ${p.oneLine}\n`).join(""),
    );
    return 0;
  } catch (e: unknown) {
    if (isInvalidInputError(e)) {
      process.stderr.write(`analyze: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`analyze: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
