/**
 * Admission of invocations: a function's reserved concurrency, or the account's unreserved
 * pool, as Lambda throttles them (a 429 with the throttle's `Reason`). Asynchronous
 * invocations are queued until admitted, never throttled to the caller.
 */
import type { ThrottleReason } from "./errors";
import type { FunctionState } from "./functions";

/** `message` Lambda gives a throttle. */
export const THROTTLE_MESSAGE = "Rate Exceeded.";

/** How often a queued asynchronous invocation tries to be admitted, ms. */
const ADMISSION_RETRY_MS = 100;

/** The concurrency slots of one runtime. */
export class Admission {
  private unreservedInFlight = 0;

  constructor(readonly accountConcurrency: number) {}

  /** Takes a concurrency slot, or says why not (the throttle `Reason`). */
  admit(fn: FunctionState): ThrottleReason | undefined {
    const reserved = fn.def.reservedConcurrency;
    if (reserved !== undefined) {
      if (fn.inFlight >= reserved) return "ReservedFunctionConcurrentInvocationLimitExceeded";
    } else if (this.unreservedInFlight >= this.accountConcurrency) {
      return "ConcurrentInvocationLimitExceeded";
    }
    fn.inFlight++;
    if (reserved === undefined) this.unreservedInFlight++;
    return undefined;
  }

  release(fn: FunctionState): void {
    fn.inFlight--;
    if (fn.def.reservedConcurrency === undefined) this.unreservedInFlight--;
  }

  /**
   * Runs `work` once a slot is free (an asynchronous invocation); gives up without running it
   * when `cancelled()` turns true while it waits.
   */
  async whenAdmitted(
    fn: FunctionState,
    cancelled: () => boolean,
    work: () => Promise<unknown>,
  ): Promise<void> {
    while (this.admit(fn) !== undefined) {
      if (cancelled() || fn.deleted) return;
      await new Promise((r) => setTimeout(r, ADMISSION_RETRY_MS));
    }
    try {
      await work();
    } finally {
      this.release(fn);
    }
  }
}
