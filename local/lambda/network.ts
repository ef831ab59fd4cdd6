/**
 * Lambda's network to S3, emulated per execution environment: a loopback TCP proxy between
 * the function and the local S3 server with a bandwidth ceiling (a token bucket per direction,
 * shared by all of the environment's connections) and an added first-byte latency per S3
 * request. The runtime points the environment's `S3_ENDPOINT` at its proxy, so the handler
 * code is unchanged. Without it, local batch uploads are bound by this machine's CPU and disk
 * where on AWS they are bound by the network.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_NETWORK_MBPS, DEFAULT_S3_LATENCY_MS } from "../../core/constants";
import { InvalidInputError } from "../../core/errors";

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

/**
 * A token bucket: `rate` bytes per second, holding at most `burst` bytes, so a transfer longer
 * than a few milliseconds runs at `rate` however it is split into chunks and connections.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly rate: number,
    readonly burst: number = Math.max(64 * 1024, rate / 100),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when `bytes` may pass; callers are served in order. */
  take(bytes: number): Promise<void> {
    const turn = this.queue.then(() => this.wait(bytes));
    this.queue = turn;
    return turn;
  }

  private async wait(bytes: number): Promise<void> {
    let need = bytes;
    while (need > 0) {
      this.refill();
      const piece = Math.min(need, this.burst);
      if (this.tokens >= piece) {
        this.tokens -= piece;
        need -= piece;
        continue;
      }
      await sleep(Math.max(1, ((piece - this.tokens) / this.rate) * 1000));
    }
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
}

/** Passes chunks at the bucket's rate (none: at once). */
class Throttle extends Transform {
  constructor(
    private readonly bucket: TokenBucket | undefined,
    private readonly before?: (chunk: Buffer) => Promise<void> | void,
    private readonly after?: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    (async () => {
      await this.before?.(chunk);
      await this.bucket?.take(chunk.length);
      this.after?.();
      return chunk;
    })().then(
      (c) => done(null, c),
      (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
    );
  }
}

/** A running per-environment proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:<port>`: the environment's S3 endpoint. */
  readonly endpoint: string;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (any free port) to `target` (an http:// URL on loopback). Every
 * byte each way takes tokens from that direction's bucket; the first byte of each response
 * (after the client sent a request) reaches the client `s3LatencyMs` after the request's last
 * byte left for the server, or at once when the server took longer, except an interim
 * `100 Continue`. (Added after the server's answer instead, the local server's own time, 14 ms
 * for a CreateMultipartUpload and 40 ms for a CompleteMultipartUpload on a busy 2-core machine,
 * came on top of the emulated latency at every step of a batch upload.)
 */
export async function startS3Proxy(target: string, network: NetworkEmulation): Promise<S3Proxy> {
  const url = new URL(target);
  const port = Number(url.port || 80);
  const host = url.hostname;
  const rate = network.mbps === undefined ? undefined : bytesPerSecond(network.mbps);
  const up = rate === undefined ? undefined : new TokenBucket(rate);
  const down = rate === undefined ? undefined : new TokenBucket(rate);
  const sockets = new Set<Socket>();
  // Half-open sockets: a side's end travels through the pipes after the delayed and throttled
  // bytes ahead of it, never cutting them off.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host, port, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);
    let awaitingResponse = false;
    // When the request's latest byte left for the server.
    let requestSentMs = 0;
    const toServer = new Throttle(up, undefined, () => {
      awaitingResponse = true;
      requestSentMs = performance.now();
    });
    const toClient = new Throttle(down, async (chunk) => {
      if (!awaitingResponse) return;
      // An interim response is not the request's answer: the latency goes on the final one.
      if (chunk.subarray(0, 12).toString("latin1").startsWith("HTTP/1.1 100")) return;
      awaitingResponse = false;
      // S3's first-byte latency runs from the complete request to the response's first byte,
      // so the local server's own time to answer is part of it, not added to it.
      const wait = network.s3LatencyMs - (performance.now() - requestSentMs);
      if (wait > 0) await sleep(wait);
    });
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", fail).on("close", () => sockets.delete(client));
    upstream.on("error", fail).on("close", () => sockets.delete(upstream));
    toServer.on("error", fail);
    toClient.on("error", fail);
    client.pipe(toServer).pipe(upstream);
    upstream.pipe(toClient).pipe(client);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  server.unref();
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close() {
      return new Promise<void>((resolveClose) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        server.close(() => resolveClose());
      });
    },
  };
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
