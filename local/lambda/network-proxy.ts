/**
 * The per-environment S3 proxy itself (network.ts says what it emulates): a loopback TCP proxy
 * with a token bucket per direction and a first-byte latency per request. It runs in the proxy
 * worker thread (network-worker.ts), off the event loop of the runtime and the local servers.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { bytesPerSecond, type NetworkEmulation, type S3Proxy } from "./network";

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

/**
 * Starts a proxy on 127.0.0.1 (any free port) to `target` (an http:// URL on loopback). Every
 * byte each way takes tokens from that direction's bucket; the first byte of each response
 * (after the client sent a request) reaches the client `s3LatencyMs` after the request's last
 * byte left for the server, or at once when the server took longer, except an interim
 * `100 Continue`. (Added after the server's answer instead, the local server's own time, 14 ms
 * for a CreateMultipartUpload and 40 ms for a CompleteMultipartUpload on a busy 2-core machine,
 * came on top of the emulated latency at every step of a batch upload.)
 */
export async function startProxyServer(
  target: string,
  network: NetworkEmulation,
): Promise<Omit<S3Proxy, "alive">> {
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
  // After listening, an error is a failed accept (EMFILE, ENFILE): that one connection is lost,
  // which its client sees and retries. Unhandled, it would end the worker and every proxy in it.
  server.on("error", () => undefined);
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
