/** One trial's invocations, closed or open loop, recorded as they complete. */
import { MAX_IN_FLIGHT } from "../core/constants";
import type { InvocationRecord } from "../core/run-files";
import { arrivalSeed, poissonSchedule } from "./arrivals";
import { type InvokeClient, type InvokeRun, invokeOpenRun, invokeRun } from "./invoker";
import type { LoopContext, LoopPlan } from "./loop";

/**
 * Sends one run's invocations, writing each record as it completes, and returns them with the
 * load the run offered, for its journal line. A warm-up is always closed-loop.
 */
export async function invokeTrial(
  ctx: LoopContext,
  plan: LoopPlan,
  client: InvokeClient,
  run: InvokeRun,
): Promise<{ records: InvocationRecord[]; load: Record<string, unknown> }> {
  const onRecord = (r: InvocationRecord): void => {
    ctx.invocationsOut.append(r);
    ctx.events.invocation(r);
  };
  if (run.warmup === true || plan.load.model === "closed") {
    const records = await invokeRun(client, run, onRecord, ctx.signal);
    // The budget: a throttled call returns at once and its slot fires again, so under the
    // closed loop the throttle rate depends on it (issue 12).
    return {
      records,
      load: {
        load: "closed",
        offered_concurrency: run.concurrency,
        budget: run.invocations,
        sent: records.length,
      },
    };
  }
  const { arrival_rate_per_s: rate, duration_s: duration } = plan.load;
  const result = await invokeOpenRun(
    client,
    run,
    poissonSchedule(rate, duration, arrivalSeed(plan.seed, run.trial)),
    MAX_IN_FLIGHT,
    onRecord,
    ctx.signal,
    ctx.clock,
  );
  // Service time of the calls that were served: a throttle's ≈ 20 ms is not service.
  const served = result.records.filter((r) => !r.throttled);
  const meanServiceS =
    served.reduce((s, r) => s + (r.client_end_ms - r.client_start_ms), 0) /
    Math.max(1, served.length) /
    1000;
  return {
    records: result.records,
    load: {
      load: "open",
      arrival_rate_per_s: rate,
      duration_s: duration,
      scheduled: result.scheduled,
      sent: result.records.length,
      dropped: result.dropped,
      max_in_flight: MAX_IN_FLIGHT,
      peak_in_flight: result.peakInFlight,
      // Little's law: the concurrency the arrivals offer (rate × mean service time).
      offered_load: rate * meanServiceS,
    },
  };
}
