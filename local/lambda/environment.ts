import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { MIB } from "../../core/constants";
import { LATEST } from "../../core/lambda-logs";
import type { CpuCgroups } from "./cgroup";
import { type CpuSource, processCpuUs } from "./cpu-meter";
import {
  BOOTSTRAP,
  type ChildMessage,
  forEachLine,
  HEAP_OOM,
  isChildMessage,
  isLoopbackHttp,
  lambdaVariables,
  readRss,
  signalName,
} from "./environment-process";
import type {
  EnvironmentSpec,
  InitResult,
  InvokeOutcome,
  InvokeResult,
  LineSink,
} from "./environment-types";
import { logStreamName } from "./log-store";
import { NETWORK_ENDPOINT_VARIABLE, type S3Proxy, startS3Proxy } from "./network";

/** How often a busy environment's RSS is sampled, ms. */
export const MEMORY_SAMPLE_MS = 20;

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
    return (
      !this.closed &&
      (this.proxy?.alive ?? true) &&
      (c === undefined || (c.exitCode === null && c.signalCode === null))
    );
  }

  /** The child's pid (for tests that check no process is left behind). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and runs INIT (loading the bundle); measures the init duration. */
  async start(): Promise<InitResult> {
    // The sandbox's network is there before INIT starts: its proxy is not INIT's time.
    const s3Endpoint = this.spec.environment[NETWORK_ENDPOINT_VARIABLE];
    if (this.spec.network !== undefined && s3Endpoint !== undefined && isLoopbackHttp(s3Endpoint))
      this.proxy = await startS3Proxy(s3Endpoint, this.spec.network);
    const started = performance.now();
    // The managed Node runtime caps the old space below the memory size; the RSS watcher
    // enforces the memory size itself.
    const heapMb = Math.max(16, Math.floor(this.spec.memoryMb * 0.9));
    const child = fork(BOOTSTRAP, [this.spec.bundlePath, this.spec.handlerExport, this.sentinel], {
      execPath: process.execPath,
      execArgv: [`--max-old-space-size=${heapMb}`],
      env: lambdaVariables(this.spec, this.logStreamName, this.proxy?.endpoint),
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
    forEachLine(stream, (line) => {
      const at = line.indexOf(this.sentinel);
      if (at >= 0) {
        if (at > 0) this.sink(line.slice(0, at), Date.now());
        this.marks[name] = true;
        this.markWaiter?.();
        return;
      }
      if (name === "stderr" && HEAP_OOM.test(line)) this.heapOom = true;
      this.sink(line, Date.now());
    });
  }
}
