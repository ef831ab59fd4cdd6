/**
 * The local harvester: reads the local Lambda runtime's log store (the stand-in for
 * CloudWatch Logs), then the invocations' log tails for anything it lacks.
 */
import {
  type Harvester,
  type HarvestRequest,
  type HarvestResult,
  RecordMerger,
  sleep,
  tailLines,
} from "./harvest";

/** The part of the local runtime's log store the harvester reads. */
export interface LocalLogReader {
  getLogEvents(
    logGroupName: string,
    range: { startMs?: number; endMs?: number },
  ): Promise<readonly { readonly timestamp: number; readonly message: string }[]>;
}

/** Options of {@link LocalHarvester}. */
export interface LocalHarvesterOptions {
  /** How long to wait for lines still being written after the last response, ms. */
  readonly settleMs?: number;
  /** Pause between reads while waiting, ms. */
  readonly pollMs?: number;
  /** Slack around the run's client times when reading the log store, ms. */
  readonly slackMs?: number;
}

/** Harvests runs from the local runtime's log store. */
export class LocalHarvester implements Harvester {
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly slackMs: number;

  constructor(
    private readonly logs: LocalLogReader,
    options: LocalHarvesterOptions = {},
  ) {
    this.settleMs = options.settleMs ?? 2000;
    this.pollMs = options.pollMs ?? 100;
    this.slackMs = options.slackMs ?? 5000;
  }

  async harvest(request: HarvestRequest, signal?: AbortSignal): Promise<HarvestResult> {
    const merger = new RecordMerger(request.runId, request.invocations);
    const deadline = Date.now() + this.settleMs;
    for (;;) {
      const events = await this.logs.getLogEvents(request.deployed.logGroup, {
        startMs: request.startMs - this.slackMs,
        endMs: Math.max(request.endMs, Date.now()) + this.slackMs,
      });
      merger.addLines(
        "local-logs",
        events.map((e) => e.message),
      );
      if (merger.complete || Date.now() >= deadline) break;
      await sleep(this.pollMs, signal);
    }
    if (!merger.complete) merger.addLines("tail", tailLines(request.invocations));
    return merger.result();
  }
}
