/**
 * The open loop's arrival process: a Poisson process of rate R, i.e. independent exponential
 * gaps of mean 1/R, drawn from a seeded generator so that a run's send times are reproducible.
 */
import { createHash } from "node:crypto";
import { seededRandom } from "../core/matrix";

/**
 * The seed of one trial's arrivals, derived from the run's seed and the trial number. Every
 * cell's trial k gets the same arrival times (common random numbers): cells are then compared
 * under the same offered pattern, and trials still differ from each other.
 */
export function arrivalSeed(runSeed: number, trial: number): number {
  return createHash("sha256").update(`arrivals:${runSeed}:${trial}`).digest().readUInt32BE(0);
}

/**
 * Send offsets (ms from the trial's start, ascending, each < `durationS` × 1000) of a Poisson
 * process with `ratePerS` arrivals per second: gaps −ln(1 − U) / R for U uniform in [0, 1).
 * Their count is Poisson with mean R × S.
 */
export function poissonSchedule(ratePerS: number, durationS: number, seed: number): number[] {
  if (!(ratePerS > 0) || !(durationS > 0)) {
    throw new RangeError(`rate and duration must be > 0, got ${ratePerS}/s for ${durationS} s`);
  }
  const random = seededRandom(seed);
  const endMs = durationS * 1000;
  const offsets: number[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - random()) / ratePerS) * 1000;
    if (t >= endMs) return offsets;
    offsets.push(t);
  }
}
