/**
 * Retrying CloudWatch Logs calls: which errors are worth another attempt (throttling, too many
 * concurrent queries, service faults, network), which end a source at once (access denied, no
 * such log group, a rejected request), exponential backoff with full jitter, and a deadline.
 *
 * How this combines with the SDK's own retries: the clients the harvester uses are built with
 * `maxAttempts: 1` ({@link LOGS_CLIENT_MAX_ATTEMPTS}), so every attempt passes through here and
 * through the shared pacing of `logs-quota.ts`. The SDK's default (3 attempts, its own backoff)
 * would retry `ThrottlingException` and `LimitExceededException` behind the pacer's back and
 * multiply our attempts by three.
 */

/** Attempts per SDK call on the harvester's CloudWatch Logs clients: this module retries. */
export const LOGS_CLIENT_MAX_ATTEMPTS = 1;

/**
 * Longest one CloudWatch Logs request may take, ms. @smithy/node-http-handler's default
 * `requestTimeout` is 0 (none) and without `throwOnRequestTimeout` a timeout only logs a
 * warning: one stalled call would hold the harvest past its deadline and the cell would never
 * reach destroy. A timed-out request fails with `TimeoutError` (ETIMEDOUT), retried here as a
 * network error.
 */
export const LOGS_REQUEST_TIMEOUT_MS = 30_000;

/** The SDK settings of every harvester CloudWatch Logs client, on AWS and on the local backend. */
export const LOGS_CLIENT_CONFIG = {
  maxAttempts: LOGS_CLIENT_MAX_ATTEMPTS,
  requestHandler: { requestTimeout: LOGS_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
} as const;

/** Why a harvest left records missing (or stopped using a source). */
export type HarvestReasonCode =
  /** `ThrottlingException` (or HTTP 429) until the retries ran out. */
  | "throttled"
  /** `LimitExceededException`: more than 30 concurrent Logs Insights queries. */
  | "limit-exceeded"
  /** `ServiceUnavailableException`, `InternalServerException`, HTTP 5xx. */
  | "service-unavailable"
  /** No response: connection refused or reset, DNS, timeout. */
  | "network"
  /** `AccessDeniedException` (or unrecognised or no credentials): retrying cannot help. */
  | "access-denied"
  /** `ResourceNotFoundException`: the log group (or query) does not exist. */
  | "not-found"
  /** Another client fault (`InvalidParameterException`, `MalformedQueryException`, …). */
  | "rejected"
  /** The harvest deadline passed before the records were found. */
  | "deadline"
  /** Logs Insights queries ended Failed, Cancelled, Timeout or never completed. */
  | "query-failed"
  /** More than 10,000 matching rows within one second: Insights cannot page that window. */
  | "insights-capped"
  /** Every source was read without an error and the records were not there. */
  | "not-in-logs";

/** A reason code and the message that explains it (journaled with the harvest). */
export interface HarvestReason {
  readonly code: HarvestReasonCode;
  readonly message: string;
}

/** A CloudWatch Logs call that failed for good: its reason, after how many attempts. */
export class LogsCallError extends Error {
  override readonly name = "LogsCallError";

  constructor(
    readonly reason: HarvestReason,
    readonly attempts: number,
  ) {
    super(reason.message);
  }
}

/** Backoff of retried calls. */
export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** Upper bound of the first wait, ms; doubled per attempt. */
  readonly baseMs: number;
  /** Upper bound of any wait, ms. */
  readonly capMs: number;
}

/**
 * Defaults: up to 8 attempts, waits drawn from [0, 0.5 s], [0, 1 s], … capped at 20 s (at most
 * ≈ 52 s of waiting per call), so a burst of throttling from `--parallel` cells spreads out.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseMs: 500, capMs: 20_000 };

/** Time and randomness of the retries, injectable for tests. */
export interface RetryClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const NETWORK_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** How a failed call is handled: retried, or ending the source with a reason. */
export interface LogsErrorClass {
  readonly retryable: boolean;
  readonly code: HarvestReasonCode;
}

/**
 * Classifies an error of a CloudWatch Logs call by its name (the SDK's exception classes set it
 * to the service's error code), HTTP status and Node.js network code. Returns undefined for
 * anything else (a defect, an abort): the caller rethrows it.
 */
export function classifyLogsError(e: unknown): LogsErrorClass | undefined {
  if (!isObject(e)) return undefined;
  const name = typeof e.name === "string" ? e.name : "";
  const metadata = isObject(e.$metadata) ? e.$metadata : undefined;
  const status = typeof metadata?.httpStatusCode === "number" ? metadata.httpStatusCode : 0;
  if (name === "ThrottlingException" || name === "Throttling" || status === 429) {
    return { retryable: true, code: "throttled" };
  }
  if (name === "LimitExceededException") return { retryable: true, code: "limit-exceeded" };
  if (
    name === "ServiceUnavailableException" ||
    name === "InternalServerException" ||
    status >= 500 ||
    e.$fault === "server"
  ) {
    return { retryable: true, code: "service-unavailable" };
  }
  if (
    name === "AccessDeniedException" ||
    name === "UnrecognizedClientException" ||
    // The SDK's credential chain found none (or could not use them): no request was made.
    name === "CredentialsProviderError" ||
    name === "ProviderError" ||
    status === 403
  ) {
    return { retryable: false, code: "access-denied" };
  }
  if (name === "ResourceNotFoundException") return { retryable: false, code: "not-found" };
  if (NETWORK_NAMES.has(name) || (typeof e.code === "string" && NETWORK_CODES.has(e.code))) {
    return { retryable: true, code: "network" };
  }
  if (e.$fault === "client" || metadata !== undefined)
    return { retryable: false, code: "rejected" };
  return undefined;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The wait before attempt `attempt + 1` (full jitter: uniform below the capped exponential). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
}

/**
 * Calls `fn` until it succeeds, retrying what {@link classifyLogsError} calls retryable with
 * backoff. A call that fails for good (not retryable, attempts used up, or the next wait would
 * pass `deadline`) throws {@link LogsCallError} with the reason; anything unclassified (and an
 * abort) is rethrown as is. `before` runs before every attempt (the quota pacing).
 */
export async function withRetry<T>(
  op: string,
  fn: () => Promise<T>,
  o: {
    readonly policy: RetryPolicy;
    readonly clock: RetryClock;
    readonly deadline: number;
    readonly signal?: AbortSignal | undefined;
    readonly before?: () => Promise<void>;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    if (o.clock.now() >= o.deadline) {
      throw new LogsCallError(
        { code: "deadline", message: `harvest deadline passed before ${op} (attempt ${attempt})` },
        attempt - 1,
      );
    }
    await o.before?.();
    try {
      return await fn();
    } catch (e: unknown) {
      const c = classifyLogsError(e);
      if (c === undefined || o.signal?.aborted === true) throw e;
      if (!c.retryable) {
        throw new LogsCallError({ code: c.code, message: `${op}: ${describe(e)}` }, attempt);
      }
      if (attempt >= o.policy.maxAttempts) {
        throw new LogsCallError(
          { code: c.code, message: `${op}: ${describe(e)} (after ${attempt} attempts)` },
          attempt,
        );
      }
      const wait = backoffMs(o.policy, attempt, o.clock.random);
      if (o.clock.now() + wait >= o.deadline) {
        throw new LogsCallError(
          {
            code: "deadline",
            message: `${op}: ${describe(e)} (after ${attempt} attempts; the harvest deadline passed before the next)`,
          },
          attempt,
        );
      }
      await o.clock.sleep(wait, o.signal);
    }
  }
}
