/**
 * One admitted invocation, end to end: a warm environment or a new one (cold start, INIT), the
 * handler's run, the log framing around it in the function's stream, whether the environment
 * is kept warm, and the CPU it got against its quota.
 */
import { LAMBDA, quotaCores } from "../../core/constants";
import type { CpuCgroups } from "./cgroup";
import { type HostLoad, type LocalCpu, SATURATED_BUSY_SHARE } from "./cpu-meter";
import { ExecutionEnvironment } from "./environment";
import type { EnvironmentSpec, InvokeOutcome, InvokeResult } from "./environment-types";
import type { FunctionState } from "./functions";
import { frameOutcome, writeClosing, writeOpening } from "./log-framing";
import type { LogStore } from "./log-store";
import type { NetworkEmulation } from "./network";

/** What one invocation produced, before it becomes an HTTP response. */
export interface InvocationResult {
  readonly payload: string;
  readonly functionError: boolean;
  readonly log: string[];
  /** What CPU the environment got (not on a failed INIT). */
  readonly cpu?: LocalCpu;
}

/** What every invocation of one runtime shares. */
export interface InvocationContext {
  readonly store: LogStore;
  readonly region: string;
  readonly cgroups: CpuCgroups | undefined;
  readonly network: NetworkEmulation | undefined;
  readonly hostLoad: HostLoad;
  /** True once the runtime is stopping: environments are no longer kept warm. */
  stopping(): boolean;
}

/** Runs the invocations of one runtime on its functions' environments. */
export class InvocationRunner {
  /** Where each environment's lines go while an invocation (or INIT) runs on it. */
  private readonly collectors = new WeakMap<ExecutionEnvironment, string[]>();

  constructor(private readonly ctx: InvocationContext) {}

  private spec(fn: FunctionState): EnvironmentSpec {
    return {
      functionName: fn.def.functionName,
      memoryMb: fn.def.memoryMb,
      timeoutSeconds: fn.def.timeoutSeconds,
      region: this.ctx.region,
      bundlePath: fn.def.bundlePath,
      handlerExport: fn.def.handlerExport,
      environment: fn.def.environment,
      logGroupName: fn.logGroup,
      logFormat: fn.def.logFormat,
      invokedFunctionArn: fn.arn,
      ...(this.ctx.network === undefined ? {} : { network: this.ctx.network }),
    };
  }

  /** A warm environment of `fn`, discarding any that died while idle; undefined: none. */
  private warm(fn: FunctionState): ExecutionEnvironment | undefined {
    let env = fn.idle.pop();
    // An environment that died while idle is discarded, and the invocation cold-starts, as on
    // Lambda (never a Runtime.ExitError at 0 ms on a dead process).
    while (env !== undefined && !env.alive) {
      fn.all.delete(env);
      void env.kill();
      env = fn.idle.pop();
    }
    return env;
  }

  /** Runs one admitted invocation on a warm environment or a new one (cold start). */
  async invoke(fn: FunctionState, requestId: string, payload: string): Promise<InvocationResult> {
    const { store } = this.ctx;
    const log: string[] = [];
    let env = this.warm(fn);
    let initDurationMs: number | undefined;
    let initFailure: InvokeOutcome | undefined;
    if (env === undefined) {
      const fresh = new ExecutionEnvironment(
        this.spec(fn),
        (message, timestamp) => {
          store.append(fn.logGroup, fresh.logStreamName, [{ message, timestamp }]);
          this.collectors.get(fresh)?.push(message);
        },
        this.ctx.cgroups,
      );
      env = fresh;
      fn.all.add(env);
      this.collectors.set(env, log);
      const init = await env.start();
      initDurationMs = init.initDurationMs;
      if (!init.ok) initFailure = init.outcome;
    }
    const active = env;
    this.collectors.set(active, log);
    const format = fn.def.logFormat;
    const write = (message: string) => {
      store.append(fn.logGroup, active.logStreamName, [{ message, timestamp: Date.now() }]);
      log.push(message);
    };

    writeOpening(write, format, {
      functionName: fn.def.functionName,
      requestId,
      coldStart: initDurationMs !== undefined,
    });
    const invokeStartMs = Date.now();
    const invoked: InvokeResult =
      initFailure === undefined
        ? await env.invoke(requestId, payload)
        : { outcome: initFailure, durationMs: 0, maxMemoryUsedMb: 0 };
    const { outcome } = invoked;
    const response = frameOutcome(write, format, outcome, {
      requestId,
      timeoutSeconds: fn.def.timeoutSeconds,
    });
    writeClosing(write, format, response, {
      requestId,
      durationMs: invoked.durationMs,
      memorySizeMb: fn.def.memoryMb,
      maxMemoryUsedMb: invoked.maxMemoryUsedMb,
      initDurationMs,
    });
    this.collectors.delete(env);

    const reusable =
      env.alive &&
      !fn.deleted &&
      !this.ctx.stopping() &&
      (outcome.kind === "result" || (outcome.kind === "error" && !outcome.fatal));
    if (reusable) {
      fn.idle.push(env);
    } else {
      fn.all.delete(env);
      await env.kill();
    }
    const cpu = this.localCpu(fn, invoked.durationMs, invoked.cpu, invokeStartMs);
    return {
      payload: response.payload,
      functionError: response.functionError,
      log,
      ...(cpu === undefined ? {} : { cpu }),
    };
  }

  /** The invocation's CPU against the quota, and how busy the host was meanwhile. */
  private localCpu(
    fn: FunctionState,
    durationMs: number,
    cpu: { ms: number; source: LocalCpu["source"] } | undefined,
    startMs: number,
  ): LocalCpu | undefined {
    if (cpu === undefined || durationMs <= 0) return undefined;
    const busy = this.ctx.hostLoad.busyShareSince(startMs);
    return {
      cpu_ms: cpu.ms,
      quota_share: cpu.ms / (durationMs * quotaCores(fn.def.memoryMb)),
      ...(busy === undefined
        ? {}
        : { host_busy_share: busy, host_saturated: busy >= SATURATED_BUSY_SHARE }),
      source: cpu.source,
    };
  }
}

/** The last 4 KB of an invocation's log, base64, as `X-Amz-Log-Result`. */
export function tailOf(lines: readonly string[]): string {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
  return text.subarray(Math.max(0, text.length - LAMBDA.tailLogBytes)).toString("base64");
}
