/**
 * Append-only JSON Lines files of the run directory. Each line is written with one `write`
 * and fsync'd, so a crash or SIGKILL leaves whole lines behind (at worst a torn last line,
 * which readers skip).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";

/** An open JSONL file appended to line by line. */
export class JsonlAppender {
  private fd: number | undefined;

  constructor(readonly file: string) {
    this.fd = openSync(file, "a");
  }

  /** Appends one value as one line and flushes it to disk. */
  append(value: unknown): void {
    if (this.fd === undefined) throw new Error(`${this.file} is closed`);
    writeSync(this.fd, `${JSON.stringify(value)}\n`);
    fsyncSync(this.fd);
  }

  /** Closes the file; further appends throw. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a JSONL file's parsed lines, skipping blank and unparsable (torn) lines. */
export function readJsonl(file: string): unknown[] {
  if (!existsSync(file)) return [];
  const out: unknown[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A torn last line from a killed process: the phase it described did not complete.
    }
  }
  return out;
}
