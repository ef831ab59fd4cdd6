/**
 * The measurements of `npm run fidelity` (bench/fidelity.ts) on a running local backend: batch
 * invocations one at a time, a busy loop against its CPU quota, and trials of an events cell.
 * Each returns its table rows and the invocations it measured (for the saturation rows).
 */
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { percentile } from "../analysis/stats";
import { invokeOnce, invokeRun, lambdaClientFor } from "../automation/invoker";
import type { Cell } from "../core/cell";
import { MIB } from "../core/constants";
import { newRunId } from "../core/names";
import type { InvocationRecord } from "../core/run-files";
import { partsInFlight } from "../handlers/settings";
import type { LocalBackend } from "../local/backend";
import type { LocalDeployer } from "../local/deployer";
import { LOCAL_CPU_HEADER, type LocalCpu, parseLocalCpu } from "../local/lambda/cpu-meter";
import { bytesPerSecond } from "../local/lambda/network";
import {
  batchTimeBreakdown,
  type FidelityCheck,
  judgeBatch,
  judgeCpu,
  judgeSpread,
} from "./fidelity-checks";

/** What every phase works with. */
export interface PhaseContext {
  readonly backend: LocalBackend;
  readonly deployer: LocalDeployer;
  readonly dataDir: string;
  readonly out: NodeJS.WritableStream;
}

/** A phase's rows and how many of its invocations ran on a saturated host. */
export interface PhaseResult {
  readonly checks: FidelityCheck[];
  readonly saturated: number;
  readonly measured: number;
}

function saturation(flags: readonly (boolean | undefined)[]): {
  saturated: number;
  measured: number;
} {
  const known = flags.filter((f): f is boolean => typeof f === "boolean");
  return { saturated: known.filter((f) => f).length, measured: known.length };
}

const warmReport = (r: InvocationRecord): boolean =>
  r.report !== undefined &&
  r.report.init_duration_ms === undefined &&
  !r.throttled &&
  r.function_error === undefined;

/** The part size the batch calibration uses, MiB: the smallest level, the most requests. */
export const FIDELITY_PART_MB = 8;

/** Batch at one memory size, one invocation at a time after a warm-up. */
export async function measureBatch(
  ctx: PhaseContext,
  memoryMb: number,
  objectMb: number,
  invocations: number,
): Promise<PhaseResult> {
  const cell: Cell = {
    workload: "batch",
    memoryMb,
    multipartMb: FIDELITY_PART_MB,
    reservedConcurrency: 0,
  };
  const deployed = await ctx.deployer.deploy(cell);
  const client = lambdaClientFor(deployed, cell, 1);
  const loop = monitorEventLoopDelay({ resolution: 2 });
  try {
    const run = { cell, deployed, runId: newRunId(), trial: 1, invocations: 1, concurrency: 1 };
    await invokeOnce(client, { ...run, warmup: true }, 0);
    const rs: InvocationRecord[] = [];
    loop.enable();
    for (let i = 0; i < invocations; i++) rs.push(await invokeOnce(client, run, i));
    loop.disable();
    const ok = rs.filter(warmReport);
    const durations = ok.map((r) => r.report?.duration_ms ?? Number.NaN);
    const network = ctx.backend.runtime.network;
    const ceiling = network?.mbps === undefined ? undefined : bytesPerSecond(network.mbps) / 1e6;
    const objectBytes = objectMb * MIB;
    const partCount = Math.ceil(objectMb / FIDELITY_PART_MB);
    const checks = [
      judgeBatch(
        {
          memoryMb,
          mbPerS: durations.map((d) => objectBytes / 1e6 / (d / 1000)),
          quotaShares: ok.flatMap((r) =>
            r.local_cpu_quota_share === undefined ? [] : [r.local_cpu_quota_share],
          ),
          saturated: rs.filter((r) => r.host_saturated === true).length,
          measured: rs.length,
        },
        ceiling,
      ),
    ];
    if (ceiling !== undefined) {
      checks.push(
        batchTimeBreakdown(memoryMb, {
          objectBytes,
          ceilingMbPerS: ceiling,
          s3LatencyMs: network?.s3LatencyMs ?? 0,
          partCount,
          partsInFlight: partsInFlight(memoryMb, FIDELITY_PART_MB, partCount),
          durationsMs: durations,
          eventLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        }),
      );
    }
    return { checks, ...saturation(rs.map((r) => r.host_saturated)) };
  } finally {
    loop.disable();
    client.destroy();
    await ctx.deployer.destroy(cell);
  }
}

/** A CPU-bound handler written for the calibration: a busy loop for `event.ms` of wall time. */
const SPIN_BUNDLE = `exports.handler = async (event) => {
  const end = Date.now() + (typeof event.ms === "number" ? event.ms : 1000);
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return { ok: x > 0 };
};
`;

function postForCpu(endpoint: string, fn: string, body: string): Promise<LocalCpu | undefined> {
  return new Promise((resolveCpu, reject) => {
    const req = request(
      `${endpoint}/2015-03-31/functions/${fn}/invocations`,
      { method: "POST" },
      (res) => {
        res.resume();
        res.on("end", () => {
          const h = res.headers[LOCAL_CPU_HEADER];
          resolveCpu(parseLocalCpu(Array.isArray(h) ? h[0] : h));
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A busy loop at 512 MB gets its quota, no more, when the host can give it. */
export async function measureCpu(ctx: PhaseContext): Promise<PhaseResult> {
  const { runtime } = ctx.backend;
  const spinPath = join(ctx.dataDir, "spin.js");
  writeFileSync(spinPath, SPIN_BUNDLE);
  await runtime.createFunction({
    functionName: "fidelity-spin",
    memoryMb: 512,
    timeoutSeconds: 30,
    environment: {},
    bundlePath: spinPath,
  });
  const cpus: LocalCpu[] = [];
  try {
    await postForCpu(runtime.endpoint, "fidelity-spin", '{"ms":50}');
    for (let i = 0; i < 3; i++) {
      const c = await postForCpu(runtime.endpoint, "fidelity-spin", '{"ms":1000}');
      if (c !== undefined) cpus.push(c);
    }
  } finally {
    await runtime.deleteFunction("fidelity-spin");
  }
  return {
    checks: [judgeCpu(cpus, runtime.cpuScalingEmulated)],
    ...saturation(cpus.map((c) => c.host_saturated)),
  };
}

/** Trials of the events cell 1024 MB b10 unreserved at `concurrency`, after a warm-up. */
export async function measureEvents(
  ctx: PhaseContext,
  trials: number,
  invocations: number,
  concurrency: number,
): Promise<PhaseResult> {
  const cell: Cell = {
    workload: "events",
    memoryMb: 1024,
    batchEvents: 10,
    reservedConcurrency: 0,
  };
  const deployed = await ctx.deployer.deploy(cell);
  const client = lambdaClientFor(deployed, cell, concurrency);
  try {
    const base = { cell, deployed, concurrency };
    const warmup = Math.min(concurrency, invocations);
    const run = (trial: number, n: number, warm: boolean) =>
      invokeRun(
        client,
        { ...base, runId: newRunId(), trial, invocations: n, ...(warm ? { warmup: true } : {}) },
        () => undefined,
      );
    await run(0, warmup, true);
    const p95s: number[] = [];
    const flags: (boolean | undefined)[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      const rs = await run(trial, invocations, false);
      flags.push(...rs.map((r) => r.host_saturated));
      p95s.push(
        percentile(
          rs.filter(warmReport).map((r) => r.report?.duration_ms ?? Number.NaN),
          95,
        ),
      );
    }
    return {
      checks: [judgeSpread(p95s, `events 1024 MB b10 unreserved, concurrency ${concurrency}`)],
      ...saturation(flags),
    };
  } finally {
    client.destroy();
    await ctx.deployer.destroy(cell);
  }
}
