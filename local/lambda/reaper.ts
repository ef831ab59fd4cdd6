/**
 * Idle reaping: a warm environment unused for the idle timeout is ended, as Lambda recycles
 * idle sandboxes; the next invocation of its function then cold-starts.
 */
import type { FunctionState } from "./functions";

/** Default time an idle (warm) environment is kept, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/** Ends the idle environments of `functions` last used before `cutoffMs`. */
export async function reapIdle(
  functions: Iterable<FunctionState>,
  cutoffMs: number,
): Promise<void> {
  for (const fn of functions) {
    const stale = fn.idle.filter((env) => env.lastUsedMs < cutoffMs);
    if (stale.length === 0) continue;
    fn.idle.splice(0, fn.idle.length, ...fn.idle.filter((env) => env.lastUsedMs >= cutoffMs));
    for (const env of stale) {
      // Listed until its process is gone, so that environmentPids() never hides a live one.
      await env.kill();
      fn.all.delete(env);
    }
  }
}

/**
 * Reaps every half idle timeout (between 50 ms and 10 s) until stopped; the timer never keeps
 * the process alive.
 */
export function startIdleReaper(
  functions: () => Iterable<FunctionState>,
  idleTimeoutMs: number,
): { stop(): void } {
  const timer = setInterval(
    () => void reapIdle(functions(), Date.now() - idleTimeoutMs),
    Math.min(10_000, Math.max(50, idleTimeoutMs / 2)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
