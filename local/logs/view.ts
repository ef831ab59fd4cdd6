/**
 * What the CloudWatch Logs API sees of the log store: events in CloudWatch's order
 * (timestamp, then stream, then position), each with its eventId, hidden until visible when
 * the ingestion-lag fault is on.
 */
import { createHash } from "node:crypto";
import type { LogStore } from "../lambda/log-store";

/** One event as the API reports it. */
export interface ApiEvent {
  readonly logStreamName: string;
  readonly timestamp: number;
  readonly message: string;
  /** When it became visible: the write time plus any injected lag. */
  readonly ingestionTime: number;
  /** Position in its stream. */
  readonly index: number;
  /** Digits, unique and stable: timestamp, stream hash, position. */
  readonly eventId: string;
}

/** Reads a log store with an ingestion lag. */
export class LogView {
  constructor(
    readonly store: LogStore,
    private readonly lagMs: number,
  ) {}

  /** Whether the group exists (its events may all still be hidden by the lag). */
  hasGroup(logGroupName: string): boolean {
    return this.store.hasGroup(logGroupName);
  }

  /** Visible events of the given streams (default every stream), in API order. */
  events(logGroupName: string, streams?: readonly string[], now: number = Date.now()): ApiEvent[] {
    const names = streams ?? this.store.listStreams(logGroupName);
    const out: ApiEvent[] = [];
    for (const stream of [...names].sort()) {
      const hash = streamHash(stream);
      for (const e of this.store.readStream(logGroupName, stream)) {
        const ingestionTime = e.ingestionTime + this.lagMs;
        if (ingestionTime > now) continue;
        out.push({
          logStreamName: stream,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime,
          index: e.index,
          eventId: `${String(e.timestamp).padStart(16, "0")}${hash}${String(e.index).padStart(10, "0")}`,
        });
      }
    }
    return out.sort(compareEvents);
  }
}

/** CloudWatch's order: timestamp, then stream name, then position in the stream. */
export function compareEvents(a: ApiEvent, b: ApiEvent): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  if (a.logStreamName !== b.logStreamName) return a.logStreamName < b.logStreamName ? -1 : 1;
  return a.index - b.index;
}

function streamHash(stream: string): string {
  const hex = createHash("sha256").update(stream).digest("hex").slice(0, 12);
  return String(Number.parseInt(hex, 16) % 1e10).padStart(10, "0");
}
