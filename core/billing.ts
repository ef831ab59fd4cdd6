/**
 * Lambda's billing rule for compute time, written once: the local runtime's REPORT, the cost
 * estimate and the analysis's fallback (an invocation without a REPORT) all use it.
 *
 * Lambda bills duration in 1 ms steps. Since 2025-08-01 the INIT phase of an on-demand cold
 * start of a ZIP function on a managed runtime is billed too, and REPORT's `Billed Duration`
 * then already includes it: `Billed Duration = ⌈Duration + Init Duration⌉`. So a reported
 * Billed Duration is used as it is, and INIT is never added to it again.
 */

/** The date from which INIT is billed for on-demand ZIP functions on managed runtimes. */
export const INIT_BILLED_SINCE = "2025-08-01";

/**
 * Billed duration of one invocation, ms: `max(1, ⌈duration + init⌉)`, `init` counted only on
 * a cold start (undefined on a warm one).
 */
export function billedDurationMs(durationMs: number, initDurationMs?: number): number {
  return Math.max(1, Math.ceil(durationMs + (initDurationMs ?? 0)));
}
