/**
 * The run CLI's load flags: `--invocations` and `--concurrency` (per workload or both), the open loop's
 * `--arrival-rate` and `--duration`, and the local backend's network emulation flags.
 */
import type { Workload } from "../core/cell";
import { DEFAULT_NETWORK_MBPS, DEFAULT_S3_LATENCY_MS, MAX_IN_FLIGHT } from "../core/constants";
import { InvalidInputError, parseIntInRange, parseNumberInRange, parseOneOf } from "../core/errors";
import type { LoadModel } from "../core/run-files";
import { formatPerWorkload, perWorkload, sameForAll, WORKLOADS } from "../core/workloads";
import type { NetworkEmulation } from "../local/lambda/network";
import { OPEN_LOOP } from "./run-defaults";

/** A per-workload flag's value in letters: `events=N,batch=M`. */
export const PER_WORKLOAD_EXAMPLE = WORKLOADS.map((w, i) => `${w}=${"NMKLJ"[i] ?? "N"}`).join(",");

/** What a per-workload flag takes (`--invocations`, `--concurrency`), for its error message. */
function perWorkloadSyntax(max: number): string {
  return `N for both workloads or ${PER_WORKLOAD_EXAMPLE} (either or both), N from 1 to ${max}`;
}

/** A local default as the flag that sets it, e.g. `--invocations events=30,batch=3`. */
export function localDefaultFlag(name: string, value: unknown): string {
  const text =
    typeof value === "object" && value !== null
      ? formatPerWorkload(value as Partial<Record<Workload, number>>)
      : String(value);
  return `--${name} ${text}`;
}

/** The default of a per-workload flag, told which workloads the user left out. */
export type PerWorkloadDefault = (
  missing: readonly Workload[],
) => Readonly<Record<Workload, number>>;

/**
 * A per-workload flag: `N` (both workloads) or `events=N,batch=M` (either or both; an unnamed
 * one keeps its default, from `dflt`), each from 1 to `max`; not given, every workload's default.
 */
function parsePerWorkload(
  flag: string,
  raw: string | undefined,
  max: number,
  dflt: PerWorkloadDefault,
): Readonly<Record<Workload, number>> {
  if (raw === undefined) return dflt(WORKLOADS);
  const bad = () => new InvalidInputError(flag, raw, perWorkloadSyntax(max));
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
  const missing = WORKLOADS.filter((w) => !(w in given));
  const base = missing.length === 0 ? undefined : dflt(missing);
  return perWorkload((_, w) => given[w] ?? base?.[w] ?? 0);
}

/** `--invocations N` or `events=N,batch=M`, N from 1 to the open loop's per-trial bound. */
export function parseInvocations(
  raw: string | undefined,
  dflt: PerWorkloadDefault,
): Readonly<Record<Workload, number>> {
  return parsePerWorkload("--invocations", raw, OPEN_LOOP.maxExpectedPerTrial, dflt);
}

/** `--concurrency C` or `events=C,batch=D`, C from 1 to {@link MAX_IN_FLIGHT}. */
export function parseConcurrency(
  raw: string | undefined,
  dflt: PerWorkloadDefault,
): Readonly<Record<Workload, number>> {
  return parsePerWorkload("--concurrency", raw, MAX_IN_FLIGHT, dflt);
}

/** Open loop: the expected invocations per trial, R × S rounded, for both workloads. */
export function expectedPerTrial(load: {
  readonly arrival_rate_per_s: number;
  readonly duration_s: number;
}): Readonly<Record<Workload, number>> {
  return sameForAll(Math.max(1, Math.round(load.arrival_rate_per_s * load.duration_s)));
}

/**
 * The load model from its flags: `--arrival-rate` and `--duration` together make the open loop
 * and exclude the closed loop's `--invocations` and `--concurrency`; neither is the closed loop.
 */
export function parseLoad(
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

/** Where the local S3 server keeps a run's data (local-s3-storage.ts). */
export const LOCAL_S3_STORAGE = ["auto", "memory", "disk"] as const;
export type LocalS3Storage = (typeof LOCAL_S3_STORAGE)[number];

/** `--local-s3-storage auto|memory|disk`: local only; undefined when not given. */
export function parseLocalS3Storage(
  local: boolean,
  raw: string | undefined,
): LocalS3Storage | undefined {
  if (raw === undefined) return undefined;
  if (!local) {
    throw new InvalidInputError(
      "--local-s3-storage",
      raw,
      "nothing with --backend aws (local backend only)",
    );
  }
  return parseOneOf("--local-s3-storage", raw, LOCAL_S3_STORAGE);
}

/** `--local-network-mbps N|off` and `--local-s3-latency-ms L`: local only. */
export function parseLocalNetwork(
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
