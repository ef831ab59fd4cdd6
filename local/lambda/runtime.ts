/**
 * The local Lambda runtime: an HTTP server on 127.0.0.1 speaking the Lambda Invoke API (plus
 * ListFunctions/GetFunction) with child-process execution environments. This module puts the
 * parts together and owns the lifecycle; the parts are the function registry (functions.ts),
 * admission (admission.ts), idle reaping (reaper.ts), one invocation and its log framing
 * (invocation.ts, log-framing.ts), the HTTP routes (http-api.ts) and the environments
 * (environment.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_REGION } from "../../core/constants";
import { InvalidInputError } from "../../core/errors";
import { Admission } from "./admission";
import { type CpuCgroups, setUpCpuCgroups } from "./cgroup";
import { HostLoad } from "./cpu-meter";
import { FunctionRegistry, type LocalFunctionDefinition, validateDefinition } from "./functions";
import { lambdaRequestListener } from "./http-api";
import { InvocationRunner } from "./invocation";
import { LogStore, type LogStoreReader } from "./log-store";
import { type NetworkEmulation, startProxyWorker, validateNetwork } from "./network";
import { DEFAULT_IDLE_TIMEOUT_MS, startIdleReaper } from "./reaper";

export { LOCAL_ACCOUNT_ID, type LocalFunctionDefinition } from "./functions";

/** Options of {@link startLambdaRuntime}. */
export interface LambdaRuntimeOptions {
  /** Where the log store lives; default a temporary directory removed by `stop()`. */
  logDir?: string;
  /** Concurrency shared by unreserved functions; default {@link DEFAULT_ACCOUNT_CONCURRENCY}. */
  accountConcurrency?: number;
  region?: string;
  /** "auto" (default) uses CPU cgroups where writable; "off" never does. */
  cpuScaling?: "auto" | "off";
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** An idle environment is ended after this long, ms; default {@link DEFAULT_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
  /**
   * Lambda's network to S3, emulated per environment on the function's `S3_ENDPOINT`
   * (local/lambda/network.ts); default none (direct), the local backend passes its default.
   */
  network?: NetworkEmulation;
}

/** A running local Lambda runtime. */
export interface LambdaRuntime {
  /** `http://127.0.0.1:<port>`: the Lambda endpoint for the SDK and the CLI. */
  readonly endpoint: string;
  readonly region: string;
  /** True when each environment runs under a CFS quota of memory/1769 of a CPU. */
  readonly cpuScalingEmulated: boolean;
  readonly accountConcurrency: number;
  /** The network emulation every environment gets; undefined = direct to S3. */
  readonly network: NetworkEmulation | undefined;
  readonly logs: LogStoreReader;
  createFunction(def: LocalFunctionDefinition): Promise<void>;
  /** Ends the function's environments; throws ResourceNotFoundException for an unknown name. */
  deleteFunction(name: string): Promise<void>;
  listFunctions(): string[];
  /** Pids of the live execution environments (for leak checks). */
  environmentPids(): number[];
  /** Ends every environment and the server; idempotent. */
  stop(): Promise<void>;
}

/**
 * Default concurrency of the unreserved pool. Lower than AWS's 1,000 because every environment
 * is a process on this machine; the experiment offers at most `--concurrency` (default 20), so
 * it does not bind. Reservations do not shrink this pool locally (on AWS they do): the full
 * matrix reserves more than any local account limit.
 */
export const DEFAULT_ACCOUNT_CONCURRENCY = 100;

/**
 * Starts the local Lambda runtime: an HTTP server on 127.0.0.1 speaking the Lambda Invoke API
 * (plus ListFunctions/GetFunction), with child-process execution environments. Requests are
 * not SigV4-verified: any credentials are accepted, as the endpoint is loopback-only.
 */
export async function startLambdaRuntime(
  options: LambdaRuntimeOptions = {},
): Promise<LambdaRuntime> {
  const accountConcurrency = options.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY;
  if (!Number.isSafeInteger(accountConcurrency) || accountConcurrency < 1) {
    throw new InvalidInputError("accountConcurrency", accountConcurrency, "an integer ≥ 1");
  }
  const region = options.region ?? DEFAULT_REGION;
  const ownLogDir = options.logDir === undefined;
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), "local-lambda-logs-"));
  const store = new LogStore(logDir);
  const network =
    options.network === undefined ? undefined : validateNetwork(options.network, "network");
  if (network !== undefined) await startProxyWorker();
  const cgroups = options.cpuScaling === "off" ? undefined : setUpCpuCgroups();
  const runtime = new Runtime(
    store,
    region,
    accountConcurrency,
    cgroups,
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    network,
  );
  await runtime.listen(options.port ?? 0);
  runtime.onStopped = () => {
    cgroups?.removeAll();
    if (ownLogDir) rmSync(logDir, { recursive: true, force: true });
  };
  return runtime;
}

class Runtime implements LambdaRuntime {
  endpoint = "";
  readonly cpuScalingEmulated: boolean;
  readonly logs: LogStoreReader;
  onStopped: () => void = () => undefined;

  private readonly functions: FunctionRegistry;
  private readonly admission: Admission;
  private readonly runner: InvocationRunner;
  private readonly server: Server;
  private readonly reaper: { stop(): void };
  private readonly hostLoad = new HostLoad();
  private stopping: Promise<void> | undefined;

  constructor(
    store: LogStore,
    readonly region: string,
    readonly accountConcurrency: number,
    cgroups: CpuCgroups | undefined,
    idleTimeoutMs: number,
    readonly network: NetworkEmulation | undefined,
  ) {
    this.logs = store;
    this.cpuScalingEmulated = cgroups !== undefined;
    this.functions = new FunctionRegistry(region);
    this.admission = new Admission(accountConcurrency);
    this.runner = new InvocationRunner({
      store,
      region,
      cgroups,
      network,
      hostLoad: this.hostLoad,
      stopping: () => this.stopping !== undefined,
    });
    this.server = createServer(
      lambdaRequestListener({
        functions: this.functions,
        admit: (fn) => this.admission.admit(fn),
        release: (fn) => this.admission.release(fn),
        invoke: (fn, requestId, payload) => this.runner.invoke(fn, requestId, payload),
        invokeAsync: (fn, requestId, payload) =>
          this.admission.whenAdmitted(
            fn,
            () => this.stopping !== undefined,
            () => this.runner.invoke(fn, requestId, payload),
          ),
      }),
    );
    this.reaper = startIdleReaper(() => this.functions.values(), idleTimeoutMs);
  }

  listen(port: number): Promise<void> {
    return new Promise((resolveListen, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        const { port: bound } = this.server.address() as AddressInfo;
        this.endpoint = `http://127.0.0.1:${bound}`;
        resolveListen();
      });
    });
  }

  async createFunction(def: LocalFunctionDefinition): Promise<void> {
    const checked = validateDefinition(def);
    if (this.stopping) throw new Error("the local Lambda runtime is stopped");
    this.functions.add(checked);
  }

  async deleteFunction(name: string): Promise<void> {
    const fn = this.functions.remove(name);
    await Promise.all([...fn.all].map((env) => env.kill()));
  }

  listFunctions(): string[] {
    return this.functions.names();
  }

  environmentPids(): number[] {
    const pids: number[] = [];
    for (const fn of this.functions.values()) {
      for (const env of fn.all) if (env.alive && env.pid !== undefined) pids.push(env.pid);
    }
    return pids;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.reaper.stop();
      this.hostLoad.stop();
      const closed = new Promise<void>((r) => this.server.close(() => r()));
      this.server.closeAllConnections();
      const names = this.functions.names();
      await Promise.all(names.map((n) => this.deleteFunction(n).catch(() => undefined)));
      await closed;
      this.onStopped();
    })();
    return this.stopping;
  }
}
