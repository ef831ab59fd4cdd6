/**
 * The judgements of `npm run fidelity` (bench/fidelity.ts), pure: what the emulation claims,
 * what was measured, and the verdict, one table row per check.
 */
import { mean, percentile, sampleStd } from "../analysis/stats";
import { quotaCores } from "../core/constants";
import type { LocalCpu } from "../local/lambda/cpu-meter";

/** What the calibration accepts. */
export const FIDELITY_TARGETS = {
  /** Batch MB/s per invocation within ±10 % of the ceiling (1,024 and 2,048 MB). */
  throughputTolerance: 0.1,
  /** CPU share of the quota of a CPU-bound invocation: at least this. */
  minQuotaShare: 0.85,
  /** Coefficient of variation of a cell's warm p95 across trials: at most this. */
  maxP95Cv: 0.1,
  /** Load average per core above which the machine is too busy before we start. */
  maxLoadPerCore: 1,
  /** Fewer cores than this cannot host even one 2,048 MB environment beside the servers. */
  minCores: 2,
} as const;

/** One line of the side-by-side table. */
export interface FidelityCheck {
  readonly name: string;
  readonly claim: string;
  readonly measured: string;
  /** ok, FAIL, or info (reported, not judged: e.g. 512 MB batch where CPU may bind). */
  readonly verdict: "ok" | "FAIL" | "info";
  readonly note?: string;
}

/** A batch cell's calibration: MB/s and CPU of each measured invocation. */
export interface BatchSample {
  readonly memoryMb: number;
  readonly mbPerS: readonly number[];
  readonly quotaShares: readonly number[];
  readonly saturated: number;
  readonly measured: number;
}

/** A number for the table: `d` decimals, "n/a" when not finite. */
export const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

/**
 * Judges a batch cell's throughput against the ceiling: at 1,024 and 2,048 MB within the
 * tolerance; at 512 MB below it is expected where CPU binds (quota share ≈ 1), so it is info.
 */
export function judgeBatch(s: BatchSample, ceilingMbPerS: number | undefined): FidelityCheck {
  const median = percentile(s.mbPerS, 50);
  const range =
    s.mbPerS.length > 0 ? `${fmt(Math.min(...s.mbPerS))}–${fmt(Math.max(...s.mbPerS))}` : "";
  const share = percentile(s.quotaShares, 50);
  const measured = `${fmt(median)} MB/s (${range}; CPU ${fmt(share, 2)} of quota)`;
  const name = `batch MB/s per invocation, ${s.memoryMb} MB`;
  if (ceilingMbPerS === undefined) {
    return { name, claim: "no ceiling (--network off)", measured, verdict: "info" };
  }
  const claim = `${fmt(ceilingMbPerS)} MB/s ±${100 * FIDELITY_TARGETS.throughputTolerance} %`;
  const within = Math.abs(median / ceilingMbPerS - 1) <= FIDELITY_TARGETS.throughputTolerance;
  if (s.memoryMb < 1024) {
    const cpuBound = share >= FIDELITY_TARGETS.minQuotaShare;
    return {
      name,
      claim: `≤ ${fmt(ceilingMbPerS)} MB/s (CPU may bind)`,
      measured,
      verdict:
        median <= ceilingMbPerS * (1 + FIDELITY_TARGETS.throughputTolerance) ? "info" : "FAIL",
      note: within
        ? "at the ceiling"
        : cpuBound
          ? "below the ceiling: CPU binds (quota used)"
          : "below the ceiling and the quota is not used: the host is short of CPU",
    };
  }
  return {
    name,
    claim,
    measured,
    verdict: within ? "ok" : "FAIL",
    ...(within
      ? {}
      : {
          note:
            share >= FIDELITY_TARGETS.minQuotaShare
              ? "CPU binds before the network (the quota is used up)"
              : s.saturated > 0
                ? "the host could not give the quota: too busy"
                : "neither the CPU quota nor the host binds: see where the time went (next row)",
        }),
  };
}

/** Judges the CPU share a CPU-bound 512 MB invocation got of its quota. */
export function judgeCpu(samples: readonly LocalCpu[], cpuEmulated: boolean): FidelityCheck {
  const shares = samples.map((c) => c.quota_share);
  const share = percentile(shares, 50);
  const busy = percentile(
    samples.flatMap((c) => (c.host_busy_share === undefined ? [] : [c.host_busy_share])),
    50,
  );
  const name = "CPU share of quota, 512 MB (busy loop)";
  const measured = `${fmt(share, 2)} of ${fmt(quotaCores(512), 3)} core (host busy ${fmt(100 * busy, 0)} %)`;
  if (!cpuEmulated) {
    return {
      name,
      claim: "1.00 (quota NOT enforced: no writable cgroup)",
      measured,
      verdict: "FAIL",
      note: "without cgroups a 512 MB environment gets a whole core: memory's effect on CPU is not reproduced",
    };
  }
  const ok = share >= FIDELITY_TARGETS.minQuotaShare && share <= 1.1;
  return {
    name,
    claim: `1.00 (≥ ${FIDELITY_TARGETS.minQuotaShare})`,
    measured,
    verdict: ok ? "ok" : "FAIL",
    ...(ok
      ? {}
      : {
          note:
            share < FIDELITY_TARGETS.minQuotaShare
              ? "the host could not give the quota: too busy"
              : "more than the quota: not enforced",
        }),
  };
}

/** Judges the spread of a cell's warm p95 across trials (coefficient of variation). */
export function judgeSpread(p95s: readonly number[], cellLabel: string): FidelityCheck {
  const cv = sampleStd(p95s) / mean(p95s);
  return {
    name: `warm p95 spread across ${p95s.length} trials, ${cellLabel}`,
    claim: `CV ≤ ${FIDELITY_TARGETS.maxP95Cv}`,
    measured: `CV ${fmt(cv, 2)} (p95 ${p95s.map((p) => fmt(p, 0)).join(", ")} ms)`,
    verdict: Number.isFinite(cv) && cv <= FIDELITY_TARGETS.maxP95Cv ? "ok" : "FAIL",
  };
}

/**
 * Where a batch invocation's time goes: the object at the ceiling, plus the emulated latency of
 * the requests that cannot overlap (CreateMultipartUpload, one round of UploadParts per
 * `partsInFlight` parts, CompleteMultipartUpload), against the median measured; what is left
 * is this machine's (the function's CPU, the local S3 server, the event loop they share).
 */
export function batchTimeBreakdown(
  memoryMb: number,
  o: {
    objectBytes: number;
    ceilingMbPerS: number;
    s3LatencyMs: number;
    partCount: number;
    partsInFlight: number;
    durationsMs: readonly number[];
    /** The main process's event-loop delay meanwhile, p99 and max, ms. */
    eventLoopDelayMs?: { p99: number; max: number };
  },
): FidelityCheck {
  const transferMs = (o.objectBytes / 1e6 / o.ceilingMbPerS) * 1000;
  const serialRequests =
    o.partCount <= 1 ? 1 : 2 + Math.ceil(o.partCount / Math.max(1, o.partsInFlight));
  const latencyMs = serialRequests * o.s3LatencyMs;
  const expected = transferMs + latencyMs;
  const median = percentile(o.durationsMs, 50);
  const loop =
    o.eventLoopDelayMs === undefined
      ? ""
      : `; servers' event-loop delay p99 ${fmt(o.eventLoopDelayMs.p99, 0)} ms, max ${fmt(o.eventLoopDelayMs.max, 0)} ms`;
  return {
    name: `batch time per invocation, ${memoryMb} MB`,
    claim: `${fmt(transferMs, 0)} ms at the ceiling + ${serialRequests} × ${o.s3LatencyMs} ms latency = ${fmt(expected, 0)} ms`,
    measured: `${fmt(median, 0)} ms median (${o.partCount} parts, ${o.partsInFlight} in flight)`,
    verdict: "info",
    note: `${fmt(median - expected, 0)} ms beyond the emulation: the function's CPU, the local S3 server, the servers' shared event loop${loop}`,
  };
}

/**
 * Judges how often the host was saturated during one phase. Where the phase's busy
 * environments ask for more cores than the host has (`demandCores` > `cores`), saturation
 * cannot be avoided at that concurrency: the machine is too small for it, which the row says
 * (for information: a local run offers such a concurrency only when asked) rather than calling
 * the machine busy.
 */
export function judgeSaturation(
  phase: string,
  saturated: number,
  measured: number,
  demandCores: number,
  cores: number,
): FidelityCheck {
  const name = `host saturated (≥ 90 % of all cores busy), ${phase}`;
  const share = measured === 0 ? 0 : saturated / measured;
  const shown = `${saturated} of ${measured} invocations (${fmt(100 * share, 0)} %)`;
  if (demandCores > cores) {
    return {
      name,
      claim: `unavoidable: busy environments ask ${fmt(demandCores, 1)} cores > ${cores}`,
      measured: shown,
      verdict: saturated === 0 ? "ok" : "info",
      ...(saturated === 0 ? {} : { note: TOO_SMALL_NOTE }),
    };
  }
  return {
    name,
    claim: `never (busy environments ask ${fmt(demandCores, 2)} of ${cores} cores)`,
    measured: shown,
    verdict: saturated === 0 ? "ok" : "FAIL",
    ...(saturated === 0 ? {} : { note: "the host is too busy: other work shares its cores" }),
  };
}

/** Why a row at a concurrency this machine cannot hold is information, not a failure. */
export const TOO_SMALL_NOTE =
  "this machine is too small for this concurrency: not measured faithfully (a local run offers it only when asked, e.g. --concurrency events=20)";

/**
 * A phase's rows at a concurrency the host cannot hold: what they show, not a verdict (a small
 * spread there is the host's steady contention, not the emulation holding).
 */
export function asInformation(checks: readonly FidelityCheck[]): FidelityCheck[] {
  return checks.map((c) => ({ ...c, verdict: "info", note: TOO_SMALL_NOTE }));
}

/** The side-by-side table. */
export function formatTable(checks: readonly FidelityCheck[]): string {
  const rows = [
    ["check", "the emulation claims", "measured", "verdict"],
    ...checks.map((c) => [
      c.name,
      c.claim,
      c.measured,
      c.verdict + (c.note === undefined ? "" : `: ${c.note}`),
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return `${rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join("  ")).join("\n")}\n`;
}
