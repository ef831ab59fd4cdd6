import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { join } from "node:path";

/** One log event, as CloudWatch Logs `GetLogEvents`/`FilterLogEvents` return it. */
export interface LogEvent {
  /** Epoch milliseconds. */
  timestamp: number;
  /** One line, without its trailing newline. */
  message: string;
  logStreamName: string;
}

/** One stored event of a stream, with what the CloudWatch Logs API reports about it. */
export interface StoredEvent {
  readonly timestamp: number;
  readonly message: string;
  /** When the store received it, epoch ms (CloudWatch's `ingestionTime`). */
  readonly ingestionTime: number;
  /** 0-based position in its stream: with the stream name, the event's identity. */
  readonly index: number;
}

/** Reads a log group the way the harvester reads CloudWatch Logs. */
export interface LogStoreReader {
  /**
   * Every event of a group, oldest first, with `startMs <= timestamp <= endMs` (both inclusive,
   * as `FilterLogEvents`); an unknown group gives no events.
   */
  getLogEvents(
    logGroupName: string,
    range?: { startMs?: number; endMs?: number },
  ): Promise<LogEvent[]>;
}

/**
 * A log stream name as Lambda gives it: `YYYY/MM/DD/[$LATEST]<32 hex>` (UTC date of the
 * environment's creation).
 */
export function logStreamName(createdMs: number, environmentId: string): string {
  const d = new Date(createdMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/[$LATEST]${environmentId}`;
}

/**
 * A local log store laid out like CloudWatch Logs, persisted as one JSONL file per stream:
 * `<dir>/<encoded group>/<encoded stream>.jsonl`, one `{"timestamp","message","ingestionTime"}`
 * per line (files without `ingestionTime` read it as `timestamp`). Writes
 * are synchronous appends so that a reader (this process or another) sees every event that was
 * written before it asked.
 */
export class LogStore implements LogStoreReader {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Appends events to a stream, creating group and stream on first use. */
  append(
    logGroupName: string,
    stream: string,
    events: readonly { timestamp: number; message: string }[],
  ): void {
    if (events.length === 0) return;
    const groupDir = join(this.dir, encodeURIComponent(logGroupName));
    mkdirSync(groupDir, { recursive: true });
    const ingestionTime = Date.now();
    const text = events
      .map(
        (e) => `${JSON.stringify({ timestamp: e.timestamp, message: e.message, ingestionTime })}\n`,
      )
      .join("");
    appendFileSync(join(groupDir, `${encodeURIComponent(stream)}.jsonl`), text);
  }

  /** The streams of a group, by name. */
  listStreams(logGroupName: string): string[] {
    const groupDir = join(this.dir, encodeURIComponent(logGroupName));
    if (!existsSync(groupDir)) return [];
    return readdirSync(groupDir)
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => decodeURIComponent(f.slice(0, -".jsonl".length)))
      .sort();
  }

  /** The groups of the store, by name. */
  listGroups(): string[] {
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => decodeURIComponent(d.name))
      .sort();
  }

  /** Whether a group exists (has been written to). */
  hasGroup(logGroupName: string): boolean {
    return existsSync(join(this.dir, encodeURIComponent(logGroupName)));
  }

  /** When a group was created (its first write), epoch ms; undefined for an unknown group. */
  groupCreatedMs(logGroupName: string): number | undefined {
    const groupDir = join(this.dir, encodeURIComponent(logGroupName));
    if (!existsSync(groupDir)) return undefined;
    const st = statSync(groupDir);
    return Math.floor(st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs);
  }

  /** Every event of one stream in write order; an unknown stream gives none. */
  readStream(logGroupName: string, stream: string): StoredEvent[] {
    const file = join(
      this.dir,
      encodeURIComponent(logGroupName),
      `${encodeURIComponent(stream)}.jsonl`,
    );
    if (!existsSync(file)) return [];
    const events: StoredEvent[] = [];
    let index = 0;
    const lines = readFileSync(file, "utf8").split("\n");
    // The last piece is "" after a complete write; anything else is a line still being written.
    lines.pop();
    for (const line of lines) {
      if (line === "") continue;
      const parsed: unknown = JSON.parse(line);
      if (!isStoredEvent(parsed)) continue;
      const ingestionTime =
        "ingestionTime" in parsed && typeof parsed.ingestionTime === "number"
          ? parsed.ingestionTime
          : parsed.timestamp;
      events.push({ timestamp: parsed.timestamp, message: parsed.message, ingestionTime, index });
      index++;
    }
    return events;
  }

  async getLogEvents(
    logGroupName: string,
    range: { startMs?: number; endMs?: number } = {},
  ): Promise<LogEvent[]> {
    const startMs = range.startMs ?? Number.NEGATIVE_INFINITY;
    const endMs = range.endMs ?? Number.POSITIVE_INFINITY;
    const events: LogEvent[] = [];
    for (const stream of this.listStreams(logGroupName)) {
      for (const e of this.readStream(logGroupName, stream)) {
        if (e.timestamp < startMs || e.timestamp > endMs) continue;
        events.push({ timestamp: e.timestamp, message: e.message, logStreamName: stream });
      }
    }
    // A stable sort keeps each stream's own order for events of the same millisecond.
    return events.sort((a, b) => a.timestamp - b.timestamp);
  }
}

function isStoredEvent(v: unknown): v is { timestamp: number; message: string } {
  return (
    typeof v === "object" &&
    v !== null &&
    "timestamp" in v &&
    typeof v.timestamp === "number" &&
    "message" in v &&
    typeof v.message === "string"
  );
}

/** A reader over a log directory written by a (possibly stopped) local runtime. */
export function openLogStore(dir: string): LogStoreReader {
  return new LogStore(dir);
}
