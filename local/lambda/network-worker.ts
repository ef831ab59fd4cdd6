/**
 * The proxy worker thread's entry (started by network.ts): it runs every environment's S3
 * proxy (network-proxy.ts) on its own event loop. Messages: `{ id, op: "start", target,
 * network }` → `{ id, endpoint }`; `{ id, op: "close", endpoint }` → `{ id }`; `{ id, op:
 * "ping" }` → `{ id }`; a failure answers `{ id, error }`.
 */
import { parentPort } from "node:worker_threads";
import type { NetworkEmulation, S3Proxy } from "./network";
import { startProxyServer } from "./network-proxy";

/** What the proxy worker is asked to do. */
export type ProxyCall =
  | { op: "start"; target: string; network: NetworkEmulation }
  | { op: "close"; endpoint: string }
  /** Answers once the worker runs (started ahead of the first proxy). */
  | { op: "ping" };

/** A call with its id, as posted to the worker. */
export type ProxyRequest = ProxyCall & { id: number };

/** Its answer. */
export type ProxyReply = { id: number; endpoint?: string; error?: string };

const proxies = new Map<string, Omit<S3Proxy, "alive">>();

async function serve(m: ProxyRequest): Promise<ProxyReply> {
  if (m.op === "ping") return { id: m.id };
  if (m.op === "start") {
    const proxy = await startProxyServer(m.target, m.network);
    proxies.set(proxy.endpoint, proxy);
    return { id: m.id, endpoint: proxy.endpoint };
  }
  const proxy = proxies.get(m.endpoint);
  proxies.delete(m.endpoint);
  await proxy?.close();
  return { id: m.id };
}

parentPort?.on("message", (m: ProxyRequest) => {
  serve(m).then(
    (reply) => parentPort?.postMessage(reply),
    (e: unknown) =>
      parentPort?.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
