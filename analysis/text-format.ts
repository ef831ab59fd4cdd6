/** Plain-text formatting shared by summary.txt's sections. */

/** Milliseconds with one decimal, "n/a" when not finite. */
export function ms(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)} ms` : "n/a";
}

/** A number with `digits` decimals, "n/a" when not finite. */
export function num(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** `part` as a percentage of `whole` with one decimal. */
export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "n/a";
}

/** Pads `s` with spaces to `n` characters. */
export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}
