/**
 * `npm run bench:analyze`: analyses a synthetic run of ~1,000,000 records (54 cells × 5 trials,
 * AWS-style invocations with REPORT lines) and prints the analysis time and peak memory.
 * Goal: under 15 s and under 2 GB. Generation is not timed. `--records N` changes the size.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type FlagSpecs, parseFlags } from "../core/cli";
import { isInvalidInputError, parseIntInRange } from "../core/errors";
import { RUN_FILES } from "../core/run-files";

/** `--help` text. */
export const USAGE = `Usage: npm run bench:analyze -- [--records N]

Analyses a synthetic AWS-style run and prints the analysis time and peak memory
(goals: under 15 s, under 2 GB).

  --records N   records to generate, 1000-100000000 [1000000]
  -h, --help    this text
`;

const FLAGS = { records: { type: "string" } } as const satisfies FlagSpecs;

/** Runs the benchmark; returns the exit code (0 goals met, 1 missed, 2 bad flags). */
export async function main(argv: readonly string[]): Promise<number> {
  let target: number;
  try {
    const parsed = parseFlags(argv, FLAGS);
    if (parsed.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    target = parseIntInRange("--records", parsed.values.records ?? "1000000", 1000, 100_000_000);
  } catch (e: unknown) {
    if (!isInvalidInputError(e)) throw e;
    process.stderr.write(`bench:analyze: ${e.message}\n`);
    return 2;
  }
  // The analysis (danfojs) loads after the flags, so --help and bad flags answer at once.
  const { analyseLoaded } = await import("../analysis/analyze");
  const { outputPaths, writeOutputs } = await import("../analysis/outputs");
  const { loadRun } = await import("../analysis/load-run");
  const { writeSyntheticRun } = await import("../analysis/synthetic");
  const dir = mkdtempSync(join(tmpdir(), "bench-analyze-"));
  try {
    const runs = 54 * 5;
    const throttleRate = 0.15;
    // A third of the cells (reserved concurrency 10) throttle: send enough to keep `target` records.
    const perRun = Math.ceil(target / runs / (1 - throttleRate / 3));
    const g0 = performance.now();
    const s = writeSyntheticRun(dir, {
      seed: 42,
      trials: 5,
      invocations: perRun,
      backend: "aws",
      throttleRate,
      junkLines: 100,
    });
    const gen = (performance.now() - g0) / 1000;
    const mb = (f: string): string => (statSync(join(dir, f)).size / 1024 ** 2).toFixed(0);
    process.stdout.write(
      `generated ${s.records} records, ${s.invocations} invocations in ${gen.toFixed(1)} s (records.jsonl ${mb(RUN_FILES.records)} MiB, invocations.jsonl ${mb(RUN_FILES.invocations)} MiB)\n`,
    );
    // Wall time on a shared 2-core machine depends on the load: print it with the figures.
    const load = (): string =>
      loadavg()
        .map((x) => x.toFixed(2))
        .join(" ");
    const loadBefore = load();
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const loaded = loadRun(dir);
    const t1 = performance.now();
    const analysis = analyseLoaded(loaded);
    const t2 = performance.now();
    const out = join(dir, "out");
    writeOutputs(analysis, outputPaths(out), out);
    const t3 = performance.now();
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    const cpu = process.cpuUsage(cpu0);
    // On a shared machine wall time includes waiting for a core; CPU time shows the work itself.
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const total = (t3 - t0) / 1000;
    process.stdout.write(
      `analysed ${loaded.records.length} records, ${analysis.runs.length} runs, ${analysis.cells.length} cells\n` +
        `  load+parse ${((t1 - t0) / 1000).toFixed(2)} s, statistics ${((t2 - t1) / 1000).toFixed(2)} s, outputs ${((t3 - t2) / 1000).toFixed(2)} s\n` +
        `  total ${total.toFixed(2)} s (goal < 15 s), CPU ${cpuS.toFixed(2)} s; peak RSS ${peakMiB.toFixed(0)} MiB (goal < 2048 MiB; RSS before analysis ${(rssBefore / 1024 ** 2).toFixed(0)} MiB)\n` +
        `  load average (1/5/15 min) before ${loadBefore}, after ${load()}\n`,
    );
    return total < 15 && peakMiB < 2048 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
