/**
 * What every harvester shares: the request, the result and the merge of records from several
 * sources (deduplicated per invocation, counted per source, missing ones counted).
 */

import type { DeployedCell } from "../core/deployer";
import type { EmfRecord } from "../core/emf";
import { extractEmfRecord } from "../core/emf";
import type { InvocationRecord } from "../core/run-files";
import { reachedFunction } from "./invoker";
import type { HarvestReason } from "./logs-retry";

/** One run to harvest. */
export interface HarvestRequest {
  readonly deployed: DeployedCell;
  readonly runId: string;
  /** Client time of the run's first request and last response, ms. */
  readonly startMs: number;
  readonly endMs: number;
  readonly invocations: readonly InvocationRecord[];
  /**
   * Records of the run already collected (`--reharvest`): they count towards completeness, so
   * a harvester stops as soon as the rest is found, and they are not counted under any source.
   */
  readonly known?: readonly EmfRecord[];
}

/** A run's harvested records and how complete they are. */
export interface HarvestResult {
  readonly records: readonly EmfRecord[];
  /** Invocations that reached the function: the records expected. */
  readonly expected: number;
  readonly found: number;
  /**
   * Invocations that reached the function and have no record: counted and reported, never
   * silently dropped. A record of another invocation of the run (one the client saw time out)
   * is in `found` and `records` but fills no gap.
   */
  readonly missing: number;
  /** Sources used, joined by `+` (e.g. `insights+filter-log-events`). */
  readonly source: string;
  /** Records contributed by each source. */
  readonly counts: Readonly<Record<string, number>>;
  /** Problems met on the way (e.g. a failed Insights query) that the fallbacks covered. */
  readonly notes?: readonly string[];
  /** Why records are missing (set when `missing > 0`): a code and a message, journaled. */
  readonly reason?: HarvestReason;
}

/** Collects a run's EMF records from the backend's logs. */
export interface Harvester {
  harvest(request: HarvestRequest, signal?: AbortSignal): Promise<HarvestResult>;
}

/**
 * The identity of a record: its request id, which identifies the invocation; the S3 key (unique
 * too) when the request id is empty.
 */
export function recordKey(r: EmfRecord): string {
  return r.request_id !== "" ? `id:${r.request_id}` : `key:${r.s3_key}`;
}

/** Collects records of one run from several sources, each invocation once. */
export class RecordMerger {
  private readonly byKey = new Map<string, EmfRecord>();
  private readonly counts: Record<string, number> = {};
  readonly expected: number;
  /** Request ids of the invocations that reached the function: the records expected. */
  private readonly expectedIds: Set<string>;
  /** Reached invocations without a request id (any other record of the run may be theirs). */
  private readonly anonymous: number;
  /** Records whose request id is in {@link expectedIds}. */
  private matched = 0;

  constructor(
    readonly runId: string,
    invocations: readonly InvocationRecord[],
  ) {
    const reached = invocations.filter(reachedFunction);
    this.expected = reached.length;
    this.expectedIds = new Set(
      reached.flatMap((i) =>
        i.request_id === undefined || i.request_id === "" ? [] : [i.request_id],
      ),
    );
    this.anonymous = reached.length - this.expectedIds.size;
  }

  /** A merger for a request, holding the request's `known` records already. */
  static forRequest(request: HarvestRequest): RecordMerger {
    const merger = new RecordMerger(request.runId, request.invocations);
    merger.put(request.known ?? []);
    return merger;
  }

  private put(records: Iterable<EmfRecord>): number {
    let added = 0;
    for (const r of records) {
      if (r.run_id !== this.runId) continue;
      const key = recordKey(r);
      if (this.byKey.has(key)) continue;
      this.byKey.set(key, r);
      if (this.expectedIds.has(r.request_id)) this.matched++;
      added++;
    }
    return added;
  }

  /** Adds records of a source; foreign runs and duplicates are ignored. Returns how many were new. */
  add(source: string, records: Iterable<EmfRecord>): number {
    const added = this.put(records);
    this.counts[source] = (this.counts[source] ?? 0) + added;
    return added;
  }

  /** Adds the records parsed from log lines. */
  addLines(source: string, lines: Iterable<string>): number {
    const records: EmfRecord[] = [];
    for (const line of lines) {
      const r = extractEmfRecord(line);
      if (r !== null) records.push(r);
    }
    return this.add(source, records);
  }

  get found(): number {
    return this.byKey.size;
  }

  /**
   * Expected records found: those of the reached invocations' request ids, plus other records
   * of the run up to the number of reached invocations without a request id. A late record of
   * an invocation the client saw time out cannot stand in for a missing one.
   */
  private get counted(): number {
    return (
      Math.min(this.matched, this.expectedIds.size) +
      Math.min(this.found - this.matched, this.anonymous)
    );
  }

  get complete(): boolean {
    return this.counted >= this.expected;
  }

  /** The result so far, records oldest first. */
  result(): HarvestResult {
    const records = [...this.byKey.values()].sort((a, b) => a.ts_start_ms - b.ts_start_ms);
    const used = Object.entries(this.counts)
      .filter(([, n]) => n > 0)
      .map(([s]) => s);
    return {
      records,
      expected: this.expected,
      found: records.length,
      missing: Math.max(0, this.expected - this.counted),
      source: used.length > 0 ? used.join("+") : "none",
      counts: { ...this.counts },
    };
  }
}

/** The EMF lines the invocations carried in their log tails: the last fallback. */
export function tailLines(invocations: readonly InvocationRecord[]): string[] {
  return invocations.flatMap((i) => (i.tail_emf_line === undefined ? [] : [i.tail_emf_line]));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The `harvested` journal detail of a run's harvest (the loop's and `--reharvest`'s). */
export function harvestedDetail(runId: string, result: HarvestResult): Record<string, unknown> {
  return {
    run_id: runId,
    expected: result.expected,
    found: result.found,
    missing: result.missing,
    source: result.source,
    counts: result.counts,
    ...(result.notes === undefined ? {} : { notes: result.notes }),
    ...(result.reason === undefined ? {} : { reason: result.reason }),
  };
}
