/** The records of a run directory as typed-array columns, and the parsing of one records.jsonl line. */
import { asEmfRecord, type EmfRecord, extractEmfRecord } from "../core/emf";
import type { RecordColumns } from "./loaded-run";

/** What the client saw of one invocation, joined to its record by request id. */
export interface ClientSide {
  readonly clientMs: number;
  readonly initMs: number;
}

/** Growable typed-array columns. */
export class ColumnBuilder {
  length = 0;
  private capacity = 1024;
  run = new Int32Array(this.capacity);
  latencyMs = new Float64Array(this.capacity);
  tsStartMs = new Float64Array(this.capacity);
  tsEndMs = new Float64Array(this.capacity);
  objectBytes = new Float64Array(this.capacity);
  events = new Float64Array(this.capacity);
  parts = new Float64Array(this.capacity);
  ok = new Uint8Array(this.capacity);
  coldStart = new Uint8Array(this.capacity);
  lineBytes = new Float64Array(this.capacity);
  billedMs = new Float64Array(this.capacity);
  clientMs = new Float64Array(this.capacity);
  initMs = new Float64Array(this.capacity);

  private grow(): void {
    this.capacity *= 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(this.capacity);
      b.set(a);
      return b;
    };
    this.run = g(this.run, (n) => new Int32Array(n));
    this.latencyMs = g(this.latencyMs, (n) => new Float64Array(n));
    this.tsStartMs = g(this.tsStartMs, (n) => new Float64Array(n));
    this.tsEndMs = g(this.tsEndMs, (n) => new Float64Array(n));
    this.objectBytes = g(this.objectBytes, (n) => new Float64Array(n));
    this.events = g(this.events, (n) => new Float64Array(n));
    this.parts = g(this.parts, (n) => new Float64Array(n));
    this.ok = g(this.ok, (n) => new Uint8Array(n));
    this.coldStart = g(this.coldStart, (n) => new Uint8Array(n));
    this.lineBytes = g(this.lineBytes, (n) => new Float64Array(n));
    this.billedMs = g(this.billedMs, (n) => new Float64Array(n));
    this.clientMs = g(this.clientMs, (n) => new Float64Array(n));
    this.initMs = g(this.initMs, (n) => new Float64Array(n));
  }

  push(
    run: number,
    r: EmfRecord,
    lineBytes: number,
    billedMs: number,
    client: ClientSide | undefined,
  ): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    this.run[i] = run;
    this.latencyMs[i] = r.latency_ms;
    this.tsStartMs[i] = r.ts_start_ms;
    this.tsEndMs[i] = r.ts_end_ms;
    this.objectBytes[i] = r.object_bytes;
    this.events[i] = r.events_generated;
    this.parts[i] = r.multipart_parts;
    this.ok[i] = r.ok ? 1 : 0;
    this.coldStart[i] = r.cold_start ? 1 : 0;
    this.lineBytes[i] = lineBytes;
    this.billedMs[i] = billedMs;
    this.clientMs[i] = client?.clientMs ?? Number.NaN;
    this.initMs[i] = client?.initMs ?? Number.NaN;
  }

  build(): RecordColumns {
    const n = this.length;
    return {
      length: n,
      run: this.run.subarray(0, n),
      latencyMs: this.latencyMs.subarray(0, n),
      tsStartMs: this.tsStartMs.subarray(0, n),
      tsEndMs: this.tsEndMs.subarray(0, n),
      objectBytes: this.objectBytes.subarray(0, n),
      events: this.events.subarray(0, n),
      parts: this.parts.subarray(0, n),
      ok: this.ok.subarray(0, n),
      coldStart: this.coldStart.subarray(0, n),
      lineBytes: this.lineBytes.subarray(0, n),
      billedMs: this.billedMs.subarray(0, n),
      clientMs: this.clientMs.subarray(0, n),
      initMs: this.initMs.subarray(0, n),
    };
  }
}

const AWS_PREFIX = '{"_aws":';
const AWS_END = '}]},"';

/**
 * Parses one records.jsonl line. Fast path for the line exactly as the handler writes it
 * (`{"_aws":{…},"ts_start_ms":…}`): the `_aws` block (a third of the bytes, never read here)
 * is cut off before JSON.parse; the root fields are then checked by asEmfRecord as usual.
 * Anything else goes through extractEmfRecord (wrapped log formats, prefixes).
 */
export function parseRecordLine(line: string): EmfRecord | null {
  if (line.startsWith(AWS_PREFIX)) {
    const end = line.indexOf(AWS_END, AWS_PREFIX.length);
    if (end > 0) {
      try {
        const r = asEmfRecord(JSON.parse(`{${line.slice(end + AWS_END.length - 1)}`));
        if (r !== null) return r;
      } catch {
        // fall through to the general parser
      }
    }
  }
  return extractEmfRecord(line);
}
