/** JSON-lines files: read line by line without holding the file, written through a buffer. */
import { closeSync, openSync, readSync, writeSync } from "node:fs";

const CHUNK_BYTES = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Calls `onLine(line, bytes)` for every line of a file, without holding the whole file in
 * memory: a 1M-record records.jsonl is ~0.7 GB, larger than V8's longest string. `bytes` is
 * the line's UTF-8 length without its newline. A final line without a newline is included.
 */
export function forEachLine(file: string, onLine: (line: string, bytes: number) => void): void {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let carry: Buffer | null = null;
    for (;;) {
      const read = readSync(fd, buf, 0, CHUNK_BYTES, null);
      if (read === 0) break;
      let start = 0;
      let nl = buf.indexOf(NEWLINE, 0);
      while (nl !== -1 && nl < read) {
        if (carry !== null) {
          const whole = Buffer.concat([carry, buf.subarray(0, nl)]);
          carry = null;
          onLine(whole.toString("utf8"), whole.length);
        } else {
          onLine(buf.toString("utf8", start, nl), nl - start);
        }
        start = nl + 1;
        nl = buf.indexOf(NEWLINE, start);
      }
      if (start < read) {
        const rest = Buffer.from(buf.subarray(start, read));
        carry = carry === null ? rest : Buffer.concat([carry, rest]);
      }
    }
    if (carry !== null && carry.length > 0) onLine(carry.toString("utf8"), carry.length);
  } finally {
    closeSync(fd);
  }
}

/** Buffered line writer (flushes every 4 MiB): the analysis benchmark writes ~1 GB. */
export class LineWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private size = 0;
  constructor(file: string) {
    this.fd = openSync(file, "w");
  }
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length;
    if (this.size > 4 * 1024 * 1024) this.flush();
  }
  private flush(): void {
    if (this.parts.length > 0) writeSync(this.fd, this.parts.join(""));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
