/**
 * CloudWatch Logs quotas the harvester stays within: FilterLogEvents calls are paced to the
 * per-account-and-region rate, and Logs Insights queries running at once are counted. One
 * {@link LogsLimiter} is shared by every harvester on the same client, so `--parallel` cells
 * harvesting at the same time share the quota instead of each assuming all of it.
 */
import { sleep as defaultSleep } from "./harvest";

/**
 * Default CloudWatch Logs quotas (per account and region; AWS docs, "CloudWatch Logs quotas";
 * StartQuery: "up to 30 concurrent CloudWatch Logs Insights queries, including queries that have
 * been added to dashboards").
 */
export const LOGS_QUOTAS = {
  /** FilterLogEvents, transactions per second. */
  filterLogEventsTps: 5,
  /** Logs Insights queries running at once. */
  concurrentInsightsQueries: 30,
} as const;

/** Options of {@link LogsLimiter} (tests shrink the quotas and inject time). */
export interface LogsLimiterOptions {
  readonly filterLogEventsTps?: number;
  readonly concurrentInsightsQueries?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Paces FilterLogEvents and bounds concurrent Insights queries for one client. */
export class LogsLimiter {
  private readonly intervalMs: number;
  private readonly maxQueries: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Earliest time the next FilterLogEvents call may start. */
  private nextFilterAt = Number.NEGATIVE_INFINITY;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(o: LogsLimiterOptions = {}) {
    this.intervalMs = 1000 / (o.filterLogEventsTps ?? LOGS_QUOTAS.filterLogEventsTps);
    this.maxQueries = o.concurrentInsightsQueries ?? LOGS_QUOTAS.concurrentInsightsQueries;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? defaultSleep;
  }

  /** Insights queries holding a slot now. */
  get queriesRunning(): number {
    return this.running;
  }

  /** Waits for the next FilterLogEvents slot (slots are reserved in call order). */
  async paceFilterLogEvents(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.nextFilterAt);
    this.nextFilterAt = at + this.intervalMs;
    if (at > now) await this.sleep(at - now, signal);
  }

  /**
   * Waits for an Insights query slot; the returned function releases it (once; later calls do
   * nothing), whether the query completed, failed or was given up.
   */
  async acquireQuery(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running >= this.maxQueries) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason);
        };
        this.waiting.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    } else {
      this.running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays counted.
      if (next !== undefined) next();
      else this.running--;
    };
  }
}
