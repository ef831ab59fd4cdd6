/**
 * What CPU an execution environment got during an invocation, against its quota, and whether
 * the host was saturated meanwhile: the local runtime's honesty about its own measurements.
 * On a host whose cores are all busy the memory → CPU quota no longer binds, and a latency
 * measured there says more about the machine than about the function.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A host whose cores were at least this busy during an invocation counts as saturated. */
export const SATURATED_BUSY_SHARE = 0.9;

/** How often the host's /proc/stat is sampled, ms. */
export const HOST_SAMPLE_MS = 250;

/**
 * The shortest window the host busy share is computed over, ms: /proc/stat counts in clock
 * ticks (10 ms), so a few-millisecond invocation is judged on the second around it.
 */
export const HOST_MIN_WINDOW_MS = 1000;

/** The header of the local runtime's Invoke response carrying {@link LocalCpu} (never on AWS). */
export const LOCAL_CPU_HEADER = "x-amz-local-cpu";

/** One invocation's CPU, as the local runtime measured it. */
export interface LocalCpu {
  /** CPU time the environment's process used during the invocation, ms. */
  readonly cpu_ms: number;
  /**
   * `cpu_ms` over what the quota allowed in the invocation's duration (memory/1,769 of a core
   * × duration): ≈ 1 when the quota bound, well below when the function waited (I/O) or the
   * host had no CPU to give.
   */
  readonly quota_share: number;
  /** Busy share of all the host's cores over a window around the invocation (0–1). */
  readonly host_busy_share?: number;
  /** `host_busy_share` ≥ {@link SATURATED_BUSY_SHARE}. */
  readonly host_saturated?: boolean;
  /** Where `cpu_ms` came from: the cgroup's cpu.stat, the threads' schedstat, or /proc stat. */
  readonly source: CpuSource;
}

/** Sources of an environment's CPU time, most precise first. */
export type CpuSource = "cgroup" | "schedstat" | "stat";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time of a process, µs: the sum of its threads' `schedstat` run time (ns precision;
 * includes V8's and libuv's threads), else `utime + stime` of /proc/<pid>/stat (10 ms ticks).
 * Undefined once the process is gone.
 */
export function processCpuUs(
  pid: number,
  proc = "/proc",
): { us: number; source: CpuSource } | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`${proc}/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`${proc}/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    if (Number.isFinite(ns) && ns > 0) return { us: ns / 1000, source: "schedstat" };
  } catch {
    // No schedstat (kernel without CONFIG_SCHEDSTATS): the coarser stat below.
  }
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    // Fields after the command (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? { us: (ticks * 1e6) / USER_HZ, source: "stat" } : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total clock ticks of all cores, from the first line of /proc/stat. */
export function hostCpuTicks(statFile = "/proc/stat"): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync(statFile, "utf8").split("\n", 1)[0] ?? "";
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (v.length < 5 || v.some((x) => !Number.isFinite(x))) return undefined;
    const total = v.reduce((a, b) => a + b, 0);
    // idle and iowait are the idle time; everything else (user, nice, system, irq, softirq,
    // steal) kept a core from us.
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Samples the host's /proc/stat every {@link HOST_SAMPLE_MS} and tells how busy all cores were
 * since a moment, over at least {@link HOST_MIN_WINDOW_MS}. The timer does not keep the
 * process alive.
 */
export class HostLoad {
  private readonly samples: { at: number; busy: number; total: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly statFile = "/proc/stat",
    private readonly now: () => number = Date.now,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), HOST_SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const t = hostCpuTicks(this.statFile);
    if (t === undefined) return;
    this.samples.push({ at: this.now(), ...t });
    // Keep a minute: enough for any window asked for while it is open.
    const cutoff = this.now() - 60_000;
    while (this.samples.length > 2 && (this.samples[0]?.at ?? 0) < cutoff) this.samples.shift();
  }

  /** Busy share (0–1) of all cores from `sinceMs` (or earlier, for the minimum window) to now. */
  busyShareSince(sinceMs: number): number | undefined {
    const now = hostCpuTicks(this.statFile);
    if (now === undefined) return undefined;
    const from = Math.min(sinceMs, this.now() - HOST_MIN_WINDOW_MS);
    let base = this.samples[0];
    for (const s of this.samples) if (s.at <= from) base = s;
    if (base === undefined || now.total <= base.total) return undefined;
    return Math.min(1, Math.max(0, (now.busy - base.busy) / (now.total - base.total)));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The {@link LOCAL_CPU_HEADER} value: compact JSON. */
export function formatLocalCpu(cpu: LocalCpu): string {
  const round = (x: number, d: number) => Number(x.toFixed(d));
  return JSON.stringify({
    ...cpu,
    cpu_ms: round(cpu.cpu_ms, 3),
    quota_share: round(cpu.quota_share, 4),
    ...(cpu.host_busy_share === undefined
      ? {}
      : { host_busy_share: round(cpu.host_busy_share, 4) }),
  });
}

/** Parses a {@link LOCAL_CPU_HEADER} value; undefined when it is not one. */
export function parseLocalCpu(value: string | undefined): LocalCpu | undefined {
  if (value === undefined || value === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.cpu_ms !== "number" || typeof o.quota_share !== "number") return undefined;
  const source: CpuSource =
    o.source === "cgroup" || o.source === "schedstat" || o.source === "stat" ? o.source : "stat";
  return {
    cpu_ms: o.cpu_ms,
    quota_share: o.quota_share,
    ...(typeof o.host_busy_share === "number" ? { host_busy_share: o.host_busy_share } : {}),
    ...(typeof o.host_saturated === "boolean" ? { host_saturated: o.host_saturated } : {}),
    source,
  };
}
