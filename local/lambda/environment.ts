import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { MIB } from "../../core/constants";
import { LATEST, type LogFormat } from "../../core/lambda-logs";
import type { CpuCgroups } from "./cgroup";
import { type CpuSource, processCpuUs } from "./cpu-meter";
import { logStreamName } from "./log-store";
import {
  NETWORK_ENDPOINT_VARIABLE,
  type NetworkEmulation,
  type S3Proxy,
  startS3Proxy,
} from "./network";

/** The bootstrap every environment runs (plain JS, no loaders). */
export const BOOTSTRAP = resolve(__dirname, "bootstrap.js");

/** How often a busy environment's RSS is sampled, ms. */
export const MEMORY_SAMPLE_MS = 20;

/** Lambda's error payload. */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** What an environment needs to know about its function. */
export interface EnvironmentSpec {
  readonly functionName: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly region: string;
  readonly bundlePath: string;
  readonly handlerExport: string;
  /** The function's own variables (Lambda's reserved variables win over them). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  /** The function's log format: the runtime in the child writes `console.*` lines in it. */
  readonly logFormat: LogFormat;
  readonly invokedFunctionArn: string;
  /**
   * The network to S3 to emulate: the environment gets its own proxy to the function's
   * `S3_ENDPOINT` and sees the proxy's address in that variable. Undefined = direct.
   */
  readonly network?: NetworkEmulation;
}

/** How an invocation ended. */
export type InvokeOutcome =
  | { readonly kind: "result"; readonly payload: string }
  /** The handler threw or rejected; `fatal` when the runtime itself is going down. */
  | { readonly kind: "error"; readonly error: LambdaErrorPayload; readonly fatal: boolean }
  | { readonly kind: "timeout" }
  /** RSS above the memory size (killed) or V8 out of heap (aborted). */
  | { readonly kind: "oom"; readonly signal: string }
  /** The process exited for another reason. */
  | { readonly kind: "exit"; readonly detail: string };

/** Outcome, duration and memory of one invocation. */
export interface InvokeResult {
  readonly outcome: InvokeOutcome;
  readonly durationMs: number;
  readonly maxMemoryUsedMb: number;
  /** CPU time the environment used during the invocation, ms, and where it was read. */
  readonly cpu?: { readonly ms: number; readonly source: CpuSource };
}

/** How INIT ended. */
export type InitResult =
  | { readonly ok: true; readonly initDurationMs: number }
  | { readonly ok: false; readonly initDurationMs: number; readonly outcome: InvokeOutcome };

/** Receives every line an environment writes, with its timestamp. */
export type LineSink = (message: string, timestamp: number) => void;

type ChildMessage =
  | { type: "initialized" }
  | { type: "initError"; error: LambdaErrorPayload }
  | { type: "result"; requestId: string; payload: string }
  | { type: "error"; requestId?: string; error: LambdaErrorPayload; fatal?: boolean };

function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === "object" && m !== null && "type" in m && typeof m.type === "string";
}

const HEAP_OOM = /JavaScript heap out of memory|Reached heap limit/;

/**
 * One execution environment: a child process of the same Node binary running
 * {@link BOOTSTRAP}, with the handler bundle loaded once and reused while warm. The parent
 * enforces the timeout, watches RSS against the memory size and, when {@link CpuCgroups} are
 * given, caps CPU at memory/1769 of a core.
 */
export class ExecutionEnvironment {
  /** 32 hex characters, as in Lambda's stream names. */
  readonly id = randomBytes(16).toString("hex");
  readonly createdMs = Date.now();
  readonly logStreamName = logStreamName(this.createdMs, this.id);
  /** Set once INIT succeeded. */
  initDurationMs: number | undefined;
  /** Millisecond time the environment last finished an invocation. */
  lastUsedMs = Date.now();

  private readonly spec: EnvironmentSpec;
  private readonly sink: LineSink;
  private readonly cgroups: CpuCgroups | undefined;
  private readonly sentinel = `__LOCAL_LAMBDA_MARK_${randomBytes(8).toString("hex")}__`;
  private child: ChildProcess | undefined;
  private proxy: S3Proxy | undefined;
  private closed = false;
  private closeInfo = "";
  private heapOom = false;
  private readonly closeWaiters: (() => void)[] = [];
  private marks = { stdout: false, stderr: false };
  private markWaiter: (() => void) | undefined;
  private messageWaiter: ((m: ChildMessage | undefined) => void) | undefined;

  constructor(spec: EnvironmentSpec, sink: LineSink, cgroups?: CpuCgroups) {
    this.spec = spec;
    this.sink = sink;
    this.cgroups = cgroups;
  }

  /**
   * True until the process has exited. Also false as soon as Node knows the child exited,
   * before its pipes have closed: an environment that died while idle is never handed the
   * next invocation.
   */
  get alive(): boolean {
    const c = this.child;
    return !this.closed && (c === undefined || (c.exitCode === null && c.signalCode === null));
  }

  /** The child's pid (for tests that check no process is left behind). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The variables Lambda sets, over the function's own. */
  private processEnv(): Record<string, string> {
    const s = this.spec;
    return {
      ...s.environment,
      ...(this.proxy === undefined ? {} : { [NETWORK_ENDPOINT_VARIABLE]: this.proxy.endpoint }),
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: "en_US.UTF-8",
      TZ: ":UTC",
      AWS_REGION: s.region,
      AWS_DEFAULT_REGION: s.region,
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      AWS_LAMBDA_FUNCTION_NAME: s.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: LATEST,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_LAMBDA_LOG_FORMAT: s.logFormat,
      AWS_LAMBDA_LOG_GROUP_NAME: s.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
      LAMBDA_TASK_ROOT: dirname(s.bundlePath),
      LAMBDA_RUNTIME_DIR: dirname(BOOTSTRAP),
      _HANDLER: `${s.bundlePath.replace(/\.c?js$/, "")}.${s.handlerExport}`,
    };
  }

  /** Starts the process and runs INIT (loading the bundle); measures the init duration. */
  async start(): Promise<InitResult> {
    const started = performance.now();
    // The managed Node runtime caps the old space below the memory size; the RSS watcher
    // enforces the memory size itself.
    const heapMb = Math.max(16, Math.floor(this.spec.memoryMb * 0.9));
    const s3Endpoint = this.spec.environment[NETWORK_ENDPOINT_VARIABLE];
    if (this.spec.network !== undefined && s3Endpoint !== undefined && isLoopbackHttp(s3Endpoint))
      this.proxy = await startS3Proxy(s3Endpoint, this.spec.network);
    const child = fork(BOOTSTRAP, [this.spec.bundlePath, this.spec.handlerExport, this.sentinel], {
      execPath: process.execPath,
      execArgv: [`--max-old-space-size=${heapMb}`],
      env: this.processEnv(),
      cwd: dirname(this.spec.bundlePath),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.child = child;
    if (this.cgroups !== undefined && child.pid !== undefined) {
      try {
        this.cgroups.place(this.id, child.pid, this.spec.memoryMb);
      } catch {
        // The process may already be gone; its exit is reported below.
      }
    }
    this.pipeLines(child.stdout, "stdout");
    this.pipeLines(child.stderr, "stderr");
    child.on("message", (m: unknown) => {
      if (isChildMessage(m)) this.messageWaiter?.(m);
    });
    child.on("error", () => {
      // Spawn failures surface as a close without messages.
    });
    child.on("close", (code, signal) => {
      this.closed = true;
      this.closeInfo =
        signal !== null ? `signal: ${signalName(signal)}` : `exit status ${code ?? 0}`;
      this.cgroups?.remove(this.id);
      void this.proxy?.close();
      this.markWaiter?.();
      this.messageWaiter?.(undefined);
      for (const w of this.closeWaiters.splice(0)) w();
    });

    this.resetMarks();
    const message = this.nextMessage();
    child.send({ type: "init" });
    const m = await message;
    const initDurationMs = performance.now() - started;
    if (m?.type === "initialized") {
      await this.marksDone();
      this.initDurationMs = initDurationMs;
      return { ok: true, initDurationMs };
    }
    if (m?.type === "initError") {
      await this.marksDone();
      return { ok: false, initDurationMs, outcome: { kind: "error", error: m.error, fatal: true } };
    }
    return { ok: false, initDurationMs, outcome: this.exitOutcome(false) };
  }

  /**
   * Runs one invocation. The timeout and the memory limit end the environment (SIGKILL), as
   * Lambda ends the sandbox.
   */
  async invoke(requestId: string, payload: string): Promise<InvokeResult> {
    const child = this.child;
    if (child === undefined || this.closed) {
      return { outcome: this.exitOutcome(false), durationMs: 0, maxMemoryUsedMb: 0 };
    }
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const started = performance.now();
    const deadlineMs = Date.now() + timeoutMs;
    let timedOut = false;
    let memoryKilled = false;
    let peakRss = 0;
    const limitBytes = this.spec.memoryMb * MIB;
    const sample = () => {
      const rss = readRss(child.pid);
      if (rss === undefined) return;
      peakRss = Math.max(peakRss, rss.hwm, rss.rss);
      if (rss.rss > limitBytes && !memoryKilled) {
        memoryKilled = true;
        child.kill("SIGKILL");
      }
    };
    const watch = setInterval(sample, MEMORY_SAMPLE_MS);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);

    this.resetMarks();
    const message = this.nextMessage();
    const cpuBefore = this.cpuUs();
    child.send({
      type: "invoke",
      requestId,
      payload,
      deadlineMs,
      functionName: this.spec.functionName,
      functionVersion: LATEST,
      memoryLimitInMB: String(this.spec.memoryMb),
      invokedFunctionArn: this.spec.invokedFunctionArn,
      logGroupName: this.spec.logGroupName,
      logStreamName: this.logStreamName,
    });
    const m = await message;
    const durationMs = performance.now() - started;
    const cpuAfter = this.cpuUs();
    clearTimeout(timer);
    sample();
    clearInterval(watch);
    if (m !== undefined) await this.marksDone();
    this.lastUsedMs = Date.now();
    const maxMemoryUsedMb = Math.min(this.spec.memoryMb, Math.ceil(peakRss / MIB));

    let outcome: InvokeOutcome;
    if (timedOut) outcome = { kind: "timeout" };
    else if (m?.type === "result") outcome = { kind: "result", payload: m.payload };
    else if (m?.type === "error")
      outcome = { kind: "error", error: m.error, fatal: m.fatal === true };
    else outcome = this.exitOutcome(memoryKilled);
    const reportedMemory = outcome.kind === "oom" ? this.spec.memoryMb : maxMemoryUsedMb;
    const cpu =
      cpuBefore !== undefined && cpuAfter !== undefined && cpuAfter.source === cpuBefore.source
        ? { ms: Math.max(0, cpuAfter.us - cpuBefore.us) / 1000, source: cpuAfter.source }
        : undefined;
    return {
      outcome,
      durationMs,
      maxMemoryUsedMb: reportedMemory,
      ...(cpu === undefined ? {} : { cpu }),
    };
  }

  /** The environment's CPU time so far: its cgroup's count where there is one, else /proc. */
  private cpuUs(): { us: number; source: CpuSource } | undefined {
    const fromCgroup = this.cgroups?.usageUs(this.id);
    if (fromCgroup !== undefined) return { us: fromCgroup, source: "cgroup" };
    return this.child?.pid === undefined ? undefined : processCpuUs(this.child.pid);
  }

  /** Ends the environment and waits for the process to be gone. Idempotent. */
  async kill(): Promise<void> {
    if (this.closed || this.child === undefined) return;
    const closed = new Promise<void>((r) => this.closeWaiters.push(r));
    this.child.kill("SIGKILL");
    await closed;
  }

  private exitOutcome(memoryKilled: boolean): InvokeOutcome {
    if (memoryKilled) return { kind: "oom", signal: "signal: killed" };
    if (this.heapOom) return { kind: "oom", signal: this.closeInfo || "signal: aborted" };
    return { kind: "exit", detail: this.closeInfo || "signal: killed" };
  }

  /** The next IPC message, or undefined when the process closes first. */
  private nextMessage(): Promise<ChildMessage | undefined> {
    return new Promise((resolveMessage) => {
      if (this.closed) {
        resolveMessage(undefined);
        return;
      }
      this.messageWaiter = (m) => {
        this.messageWaiter = undefined;
        resolveMessage(m);
      };
    });
  }

  private resetMarks(): void {
    this.marks = { stdout: false, stderr: false };
  }

  /** Resolves once both pipes delivered the phase's sentinel (or the process closed). */
  private marksDone(): Promise<void> {
    return new Promise((r) => {
      const check = () => {
        if (this.closed || (this.marks.stdout && this.marks.stderr)) {
          this.markWaiter = undefined;
          r();
          return true;
        }
        return false;
      };
      if (!check()) this.markWaiter = check;
    });
  }

  private pipeLines(stream: Readable | null, name: "stdout" | "stderr"): void {
    if (stream === null) return;
    stream.setEncoding("utf8");
    let pending = "";
    const emit = (line: string) => {
      const at = line.indexOf(this.sentinel);
      if (at >= 0) {
        if (at > 0) this.sink(line.slice(0, at), Date.now());
        this.marks[name] = true;
        this.markWaiter?.();
        return;
      }
      if (name === "stderr" && HEAP_OOM.test(line)) this.heapOom = true;
      this.sink(line, Date.now());
    };
    stream.on("data", (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    });
    stream.on("end", () => {
      if (pending !== "") emit(pending);
      pending = "";
    });
  }
}

/** Only plain http:// endpoints on loopback are proxied (the local S3 server's). */
function isLoopbackHttp(endpoint: string): boolean {
  try {
    const u = new URL(endpoint);
    return u.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  } catch {
    return false;
  }
}

/** Go's names for the signals Lambda's messages mention ("signal: killed"). */
function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: "killed",
    SIGABRT: "aborted",
    SIGSEGV: "segmentation fault",
    SIGTERM: "terminated",
  };
  return names[signal] ?? signal;
}

/** Current and peak RSS of a process from /proc, bytes; undefined once it is gone. */
function readRss(pid: number | undefined): { rss: number; hwm: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return undefined;
  }
}
