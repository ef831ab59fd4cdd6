/**
 * Progress of a run: on a TTY a live view redrawn in place (a bar over the invocations the plan
 * sends, done/total, throttles with their share, errors, elapsed, an ETA from the invocation
 * rate, cells done/total and each running cell's phase); otherwise plain lines, one per phase
 * change, fit for logs and CI.
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

const BAR_WIDTH = 24;

/** `[#########---------------]` for a fraction in [0, 1]. */
function bar(fraction: number): string {
  const n = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return `[${"#".repeat(n)}${"-".repeat(BAR_WIDTH - n)}]`;
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

  /**
   * `totalInvocations` is what the plan sends (every cell's trials); unknown (NaN) falls back
   * to an ETA from the cells finished.
   */
  constructor(
    private readonly out: ProgressOutput,
    private readonly totalCells: number,
    private readonly now: () => number = Date.now,
    private readonly totalInvocations: number = Number.NaN,
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
    const total = this.totalInvocations;
    const byInvocations = Number.isFinite(total) && total > 0;
    let eta = "?";
    if (byInvocations && this.sent > 0) {
      eta = clock((elapsed / this.sent) * Math.max(0, total - this.sent));
    } else if (!byInvocations && finished > 0) {
      eta = clock((elapsed / finished) * (this.totalCells - finished));
    }
    const share = this.sent === 0 ? "" : ` (${((100 * this.throttles) / this.sent).toFixed(1)}%)`;
    const head = byInvocations
      ? `${bar(this.sent / total)} invocations ${this.sent}/${total}  `
      : `invocations ${this.sent}  `;
    const lines = [
      `${head}throttled ${this.throttles}${share}  errors ${this.errors}  ` +
        `elapsed ${clock(elapsed)}  eta ${eta}`,
      `cells ${finished}/${this.totalCells} (done ${this.done}, failed ${this.failed})`,
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
