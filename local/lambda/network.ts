/**
 * Lambda's network to S3, emulated per execution environment: a loopback TCP proxy between
 * the function and the local S3 server with a bandwidth ceiling (a token bucket per direction,
 * shared by all of the environment's connections) and an added first-byte latency per S3
 * request. The runtime points the environment's `S3_ENDPOINT` at its proxy, so the handler
 * code is unchanged. Without it, local batch uploads are bound by this machine's CPU and disk
 * where on AWS they are bound by the network.
 */
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { DEFAULT_NETWORK_MBPS, DEFAULT_S3_LATENCY_MS } from "../../core/constants";
import { InvalidInputError } from "../../core/errors";
import type { ProxyCall, ProxyReply } from "./network-worker";

/** The variable whose endpoint an environment's traffic is routed through its proxy. */
export const NETWORK_ENDPOINT_VARIABLE = "S3_ENDPOINT";

/** What the local runtime emulates of the network between a function and S3. */
export interface NetworkEmulation {
  /** Ceiling per environment and direction, Mbit/s (10⁶ bit/s); undefined = no ceiling. */
  readonly mbps?: number;
  /** Added before the first byte of each S3 response, ms; 0 for none. */
  readonly s3LatencyMs: number;
}

/** The default emulation: {@link DEFAULT_NETWORK_MBPS} and {@link DEFAULT_S3_LATENCY_MS}. */
export const DEFAULT_NETWORK: NetworkEmulation = {
  mbps: DEFAULT_NETWORK_MBPS,
  s3LatencyMs: DEFAULT_S3_LATENCY_MS,
};

/** Checks an emulation's values; bad ones name the input. */
export function validateNetwork(n: NetworkEmulation, input = "network"): NetworkEmulation {
  if (n.mbps !== undefined && !(Number.isFinite(n.mbps) && n.mbps > 0 && n.mbps <= 100_000)) {
    throw new InvalidInputError(
      `${input}.mbps`,
      n.mbps,
      "a number of Mbit/s above 0, at most 100000",
    );
  }
  if (!(Number.isFinite(n.s3LatencyMs) && n.s3LatencyMs >= 0 && n.s3LatencyMs <= 10_000)) {
    throw new InvalidInputError(
      `${input}.s3LatencyMs`,
      n.s3LatencyMs,
      "a number of ms from 0 to 10000",
    );
  }
  return n;
}

/** Bytes per second of a ceiling in Mbit/s. */
export function bytesPerSecond(mbps: number): number {
  return (mbps * 1e6) / 8;
}

/** A running per-environment proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:<port>`: the environment's S3 endpoint. */
  readonly endpoint: string;
  /**
   * False once the worker that runs it has stopped: the endpoint refuses connections, so an
   * environment behind it is discarded (its next invocation cold-starts with a new proxy).
   */
  readonly alive: boolean;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (any free port) to `target` (an http:// URL on loopback) in the
 * proxy worker thread (network-worker.ts), so that the runtime's and the local servers' work on
 * the main event loop never delays its token buckets and latency timers. Every byte each way
 * takes tokens from that direction's bucket; the first byte of each response reaches the client
 * `s3LatencyMs` after the request's last byte left for the server, or at once when the server
 * took longer (network-proxy.ts).
 */
export async function startS3Proxy(target: string, network: NetworkEmulation): Promise<S3Proxy> {
  const host = proxyHost();
  const { endpoint } = await host.ask({ op: "start", target, network });
  if (endpoint === undefined) throw new Error("the proxy worker gave no endpoint");
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    get alive() {
      return !host.dead;
    },
    close() {
      // A stopped worker's proxies are gone with it: nothing is left to close.
      closing ??= host.ask({ op: "close", endpoint }).then(
        () => undefined,
        (e: unknown) => {
          if (!host.dead) throw e;
        },
      );
      return closing;
    },
  };
}

/**
 * Starts the proxy worker, if it is not running, and waits until it answers: the runtime calls
 * it at start so that the first cold start does not wait for the worker to boot.
 */
export async function startProxyWorker(): Promise<void> {
  await proxyHost().ask({ op: "ping" });
}

type Ask = (call: ProxyCall) => Promise<ProxyReply>;

/** A proxy worker: `dead` once it stopped (its proxies with it). */
interface ProxyHost {
  readonly ask: Ask;
  readonly worker: Worker;
  dead: boolean;
}

let host: ProxyHost | undefined;

/** Where a stopped worker is reported (stderr; tests replace it). */
let report: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

/** Replaces where a stopped proxy worker is reported; returns the previous reporter. */
export function setProxyWorkerReporter(r: (line: string) => void): (line: string) => void {
  const previous = report;
  report = r;
  return previous;
}

/** Stops the proxy worker (tests: what a crash of it does). */
export async function stopProxyWorkerForTest(): Promise<void> {
  await host?.worker.terminate();
}

/**
 * The process's proxy worker, started on first use. It never keeps the process alive, and a
 * worker that died is replaced on the next use (its proxies are gone with it). Under ts-node
 * or tap the worker loads its TypeScript with ts-node's transpile-only hook.
 */
function proxyHost(): ProxyHost {
  if (host !== undefined) return host;
  const ts = __filename.endsWith(".ts");
  const file = resolve(__dirname, `network-worker${ts ? ".ts" : ".js"}`);
  // CommonJS, as the rest of the project: ts-node's hook compiles the TypeScript (Node's own
  // type stripping would load the file as an ES module, which resolves imports differently).
  const boot = `${ts ? 'require("ts-node/register/transpile-only");' : ""}require(${JSON.stringify(file)});`;
  const worker = new Worker(boot, { eval: true, execArgv: [] });
  const pending = new Map<number, { resolve(r: ProxyReply): void; reject(e: Error): void }>();
  let next = 0;
  const fail = (e: Error) => {
    if (self.dead) return;
    self.dead = true;
    if (host === self) host = undefined;
    report(
      `local Lambda runtime: the S3 network proxy worker stopped (${e.message}); environments behind its proxies are discarded and cold-start again`,
    );
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  // Only an ask in flight holds the process open (a ping at start may be all there is).
  const settle = (id: number): void => {
    pending.delete(id);
    if (pending.size === 0) worker.unref();
  };
  worker.on("message", (r: ProxyReply) => {
    const p = pending.get(r.id);
    settle(r.id);
    if (r.error !== undefined) p?.reject(new Error(r.error));
    else p?.resolve(r);
  });
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`exit code ${code}`)));
  // After the listeners, which would otherwise hold the process open again.
  worker.unref();
  const ask: Ask = (call) =>
    new Promise((resolveReply, reject) => {
      if (self.dead) {
        reject(new Error("the proxy worker has stopped"));
        return;
      }
      const id = next++;
      pending.set(id, { resolve: resolveReply, reject });
      worker.ref();
      worker.postMessage({ ...call, id });
    });
  const self: ProxyHost = { ask, worker, dead: false };
  host = self;
  return self;
}

/** One line saying what a run's network emulation was (manifest notes, report caveats). */
export function describeNetwork(n: NetworkEmulation | undefined): string {
  if (n === undefined || (n.mbps === undefined && n.s3LatencyMs === 0)) {
    return "network to S3 NOT emulated (--local-network-mbps off, --local-s3-latency-ms 0): functions reach the local S3 server directly on loopback, so batch is CPU- and disk-bound where on AWS it is network-bound";
  }
  const ceiling =
    n.mbps === undefined
      ? "no bandwidth ceiling (--local-network-mbps off)"
      : `a bandwidth ceiling of ${n.mbps} Mbit/s (${Number((bytesPerSecond(n.mbps) / 1e6).toFixed(1))} MB/s) per environment and direction`;
  return `network to S3 emulated per environment: ${ceiling}, ${n.s3LatencyMs} ms added before each S3 response (--local-network-mbps, --local-s3-latency-ms)`;
}
