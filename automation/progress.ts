/**
 * Progress of a run: on a TTY a live view redrawn in place (cells done/total, each running
 * cell's phase, invocations sent, throttles, errors, elapsed, ETA); otherwise plain lines,
 * one per phase change, fit for logs and CI.
 */
import type { CellPhase, InvocationRecord } from "../core/run-files";
import type { LoopEvents } from "./loop";

/** Where progress goes: a writable stream and whether it is a terminal. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** Tracks a run's progress and renders it. */
export class Progress implements LoopEvents {
  private readonly running = new Map<string, string>();
  private done = 0;
  private failed = 0;
  private sent = 0;
  private throttles = 0;
  private errors = 0;
  private readonly startMs: number;
  private timer: NodeJS.Timeout | undefined;
  private drawnLines = 0;

  constructor(
    private readonly out: ProgressOutput,
    private readonly totalCells: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startMs = now();
    if (out.isTTY === true) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    }
  }

  phase(cellId: string, phase: CellPhase, detail?: string): void {
    if (phase === "done" || phase === "failed") {
      this.running.delete(cellId);
      if (phase === "done") this.done++;
      else this.failed++;
    } else {
      this.running.set(cellId, detail === undefined ? phase : `${phase} (${detail})`);
    }
    if (this.out.isTTY !== true) {
      const finished = this.done + this.failed;
      const extra = detail === undefined ? "" : ` ${detail}`;
      this.out.write(
        `[${clock(this.now() - this.startMs)}] ${finished}/${this.totalCells} ${cellId} ${phase}${extra}\n`,
      );
    }
  }

  invocation(record: InvocationRecord): void {
    this.sent++;
    if (record.throttled) this.throttles++;
    if (record.error !== undefined || record.function_error !== undefined) this.errors++;
  }

  /** The live view's text (also used by tests). */
  render(): string {
    const elapsed = this.now() - this.startMs;
    const finished = this.done + this.failed;
    const eta = finished === 0 ? "?" : clock((elapsed / finished) * (this.totalCells - finished));
    const lines = [
      `cells ${finished}/${this.totalCells} (done ${this.done}, failed ${this.failed})  ` +
        `invocations ${this.sent}  throttles ${this.throttles}  errors ${this.errors}  ` +
        `elapsed ${clock(elapsed)}  eta ${eta}`,
      ...[...this.running].map(([id, phase]) => `  ${id}: ${phase}`),
    ];
    return `${lines.join("\n")}\n`;
  }

  private draw(): void {
    const text = this.render();
    // Move up over the previous frame and clear it, then draw the new one.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\x1b[0J` : "";
    this.out.write(up + text);
    this.drawnLines = text.split("\n").length - 1;
  }

  /** Stops redrawing and leaves the final frame (TTY) in place. */
  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.draw();
    }
  }
}
