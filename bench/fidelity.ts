/**
 * `npm run fidelity`: a short calibration of the local backend as a measuring instrument. It
 * runs a few invocations on the embedded backend and prints, side by side, what the emulation
 * claims and what this machine delivered: batch MB/s per invocation against the network
 * ceiling (512, 1,024 and 2,048 MB) and where each invocation's time went, the CPU share
 * against the quota (512 MB), the spread of an events cell's warm p95 across trials at the
 * concurrency a local run offers events by default (one that fits the host) and at the design's,
 * and per phase how often the host was saturated, with the load average. Exits 1 with a clear
 * message when the machine is too busy to measure or the emulation does not hold, 2 on bad
 * flags; a concurrency the host's cores cannot hold is reported, not judged. `main(argv)`
 * returns the exit code. The judgements are in fidelity-checks.ts, the measurements in
 * fidelity-phases.ts.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { localConcurrency } from "../automation/local-capacity";
import { DEFAULT_CELL_SETTINGS } from "../core/cell";
import { quotaCores } from "../core/constants";
import { InvalidInputError, isInvalidInputError, parseIntInRange } from "../core/errors";
import { newRunTag } from "../core/names";
import { startLocalBackend } from "../local/backend";
import { LocalDeployer } from "../local/deployer";
import { DEFAULT_NETWORK } from "../local/lambda/network";
import {
  asInformation,
  FIDELITY_TARGETS,
  type FidelityCheck,
  formatTable,
  judgeSaturation,
} from "./fidelity-checks";
import {
  measureBatch,
  measureCpu,
  measureEvents,
  type PhaseContext,
  type PhaseResult,
} from "./fidelity-phases";

const loadText = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(" / ");

/** The options of a calibration run. */
export interface FidelityOptions {
  readonly objectMb: number;
  /** Measured batch invocations per memory size (after one warm-up). */
  readonly batchInvocations: number;
  /** Trials of the events cell, and invocations per trial at the default concurrency. */
  readonly trials: number;
  readonly eventsInvocations: number;
  readonly concurrency: number;
  /** Run even when the load average says the machine is too busy. */
  readonly force: boolean;
}

export const USAGE = `Usage: npm run fidelity -- [--object-mb M] [--batch-invocations N] [--trials T]
                          [--events-invocations N] [--concurrency C] [--force]

A short calibration of the local backend (≈ half a minute): batch MB/s per invocation against the
network ceiling at 512, 1024 and 2048 MB, and where its time went; the CPU share against the
quota at 512 MB; the spread of an events cell's warm p95 across trials at the concurrency a
local run offers events by default (what this host's cores hold) and at --concurrency; per
phase, how often the host was saturated. A concurrency the host cannot hold is reported, not
judged. Exit 0 when every check holds, 1 when the machine is too busy to measure or the
emulation does not hold (the message says which), 2 on bad flags.

  --object-mb M            batch object size in MiB (default 100, the seed's)
  --batch-invocations N    measured batch invocations per memory size (default 3)
  --trials T               trials of the events cell (default 3)
  --events-invocations N   invocations per events trial (default 30, the local default)
  --concurrency C          also run the events trials at C (default 20, the seed's)
  --force                  measure even when the load average is above one per core
`;

/** Parses the flags; throws InvalidInputError naming a bad one. */
export function parseFidelityArgs(argv: readonly string[]): FidelityOptions | "help" {
  const values = new Map<string, string>();
  let force = false;
  const known = [
    "--object-mb",
    "--batch-invocations",
    "--trials",
    "--events-invocations",
    "--concurrency",
  ];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--help") return "help";
    if (a === "--force") {
      force = true;
      continue;
    }
    if (!known.includes(a))
      throw new InvalidInputError(
        "flag",
        a,
        `one of ${[...known, "--force", "--help"].join(", ")}`,
      );
    const v = argv[++i];
    if (v === undefined) throw new InvalidInputError(a, undefined, "a value after the flag");
    values.set(a, v);
  }
  return {
    objectMb: parseIntInRange("--object-mb", values.get("--object-mb") ?? "100", 8, 1024),
    batchInvocations: parseIntInRange(
      "--batch-invocations",
      values.get("--batch-invocations") ?? "3",
      1,
      50,
    ),
    trials: parseIntInRange("--trials", values.get("--trials") ?? "3", 2, 20),
    eventsInvocations: parseIntInRange(
      "--events-invocations",
      values.get("--events-invocations") ?? "30",
      5,
      1000,
    ),
    concurrency: parseIntInRange("--concurrency", values.get("--concurrency") ?? "20", 1, 100),
    force,
  };
}

/** Runs the calibration, writing the table to `out`; returns the exit code. */
export async function runFidelity(
  o: FidelityOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const cores = availableParallelism();
  const load = loadavg();
  const loadLine = `load average ${loadText(load)} (1 / 5 / 15 min) on ${cores} cores`;
  out.write(`Fidelity self-check of the local backend: ${loadLine}\n`);
  if (cores < FIDELITY_TARGETS.minCores) {
    err.write(
      `This machine is too small to measure: ${cores} core(s), at least ${FIDELITY_TARGETS.minCores} are needed (the S3 server, the runtime and one 2,048 MB environment of 1.16 cores).\n`,
    );
    return 1;
  }
  if ((load[0] ?? 0) / cores > FIDELITY_TARGETS.maxLoadPerCore && !o.force) {
    err.write(
      `This machine is too busy to measure: ${loadLine}, above ${FIDELITY_TARGETS.maxLoadPerCore} per core. Local figures now would be this machine's contention. Try again when it is idle, or pass --force to measure anyway.\n`,
    );
    return 1;
  }
  const dataDir = mkdtempSync(join(tmpdir(), "fidelity-"));
  const backend = await startLocalBackend({ dataDir: join(dataDir, "backend") });
  const settings = { ...DEFAULT_CELL_SETTINGS, objectMb: o.objectMb, runTag: newRunTag() };
  const deployer = new LocalDeployer(backend, settings);
  const ctx: PhaseContext = { backend, deployer, dataDir, out };
  const checks: FidelityCheck[] = [];
  /** Phases saturated where their busy environments ask more cores than the host has. */
  const tooSmall: string[] = [];
  /**
   * Adds a phase's rows and its saturation row (busy environments asking `demand` cores). Where
   * `demand` exceeds the host's cores its rows are information, not verdicts.
   */
  const phase = (name: string, r: PhaseResult, demand: number) => {
    const held = demand <= cores;
    if (!held && r.saturated > 0) tooSmall.push(name);
    checks.push(
      ...(held ? r.checks : asInformation(r.checks)),
      judgeSaturation(name, r.saturated, r.measured, demand, cores),
    );
    out.write(
      `    done: ${r.saturated} of ${r.measured} on a saturated host, load ${loadText(loadavg())}\n`,
    );
  };
  // The run's local default for events: what fits the host (automation/local-capacity.ts).
  const fit = localConcurrency(cores).events;
  try {
    const network = backend.runtime.network;
    out.write(
      `Emulated: CPU quota memory/1769 of a core ${backend.runtime.cpuScalingEmulated ? "(cgroups)" : "NOT enforced (no writable cgroup)"}; network ${network?.mbps ?? "no"} Mbit/s per environment, ${network?.s3LatencyMs ?? DEFAULT_NETWORK.s3LatencyMs} ms per S3 request\n`,
    );
    await deployer.prepare([]);
    // Batch, one invocation at a time: each environment alone against its ceiling.
    for (const memoryMb of [512, 1024, 2048]) {
      out.write(
        `  batch ${memoryMb} MB: ${o.batchInvocations} invocations of ${o.objectMb} MiB after a warm-up...\n`,
      );
      const r = await measureBatch(ctx, memoryMb, o.objectMb, o.batchInvocations);
      phase(`batch ${memoryMb} MB, one at a time`, r, quotaCores(memoryMb));
    }
    out.write("  CPU: 3 busy-loop invocations at 512 MB...\n");
    phase("busy loop 512 MB", await measureCpu(ctx), quotaCores(512));
    // Events: the spread of a cell's warm p95 across trials at the concurrency a local run
    // offers by default (what fits the host) and at --concurrency (the design's 20), which tells
    // the instrument's noise from the machine's size.
    for (const c of [...new Set([fit, o.concurrency])]) {
      out.write(
        `  events 1024 MB: ${o.trials} trials of ${o.eventsInvocations} at concurrency ${c}${c === fit ? " (a local run's default)" : ""} after a warm-up...\n`,
      );
      const r = await measureEvents(ctx, o.trials, o.eventsInvocations, c);
      const slots = Math.min(c, o.eventsInvocations);
      phase(`events 1024 MB, concurrency ${c}`, r, slots * quotaCores(1024));
    }
  } finally {
    await deployer.close();
    await backend.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  out.write(`\n${formatTable(checks)}`);
  out.write(`Load average after: ${loadText(loadavg())}\n`);
  if (tooSmall.length > 0) {
    out.write(
      `This machine is too small for ${tooSmall.join("; ")}: a local run offers events concurrency ${fit} by default, where it fits; one asked for more (--concurrency) names its cells in the manifest (local.notes) and flags its saturated trials.\n`,
    );
  }
  const failed = checks.filter((c) => c.verdict === "FAIL");
  if (failed.length === 0) {
    out.write("Every check holds: local figures on this machine measure the emulation.\n");
    return 0;
  }
  const saturated = failed.some((c) => c.name.startsWith("host saturated"));
  const tooBusy = saturated || (load[0] ?? 0) / cores > FIDELITY_TARGETS.maxLoadPerCore;
  const reasons = tooBusy
    ? [
        `this machine is too busy to measure (${loadLine} at the start; saturated where the environments' quotas fit its cores): local figures now include its contention`,
      ]
    : ["the emulation does not hold on this machine; see the notes in the table"];
  err.write(
    `${failed.length} check(s) failed: ${failed.map((c) => c.name).join("; ")}. ${reasons.join("; ")}.\n`,
  );
  return 1;
}

/** The CLI: 0 every check holds, 1 too busy/small or a check failed, 2 bad flags. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const o = parseFidelityArgs(argv);
    if (o === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    return await runFidelity(o, process.stdout, process.stderr);
  } catch (e: unknown) {
    if (isInvalidInputError(e)) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
