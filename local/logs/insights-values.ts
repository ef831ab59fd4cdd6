/** Values of Logs Insights fields: how they compare, sort, read as numbers and print as times. */

/** A field's value: what JSON discovery and expressions produce. */
export type Value = string | number | boolean;

/** `YYYY-MM-DD HH:MM:SS.mmm` (UTC), as Insights shows time fields. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** A value as a number: numbers, and strings that hold only a number. */
export function num(v: Value | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A comparison; numeric when one side is a number and both read as numbers, else by text. */
export function compare(op: string, a: Value | undefined, b: Value | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = num(a);
  const y = num(b);
  const [l, r] =
    x !== undefined && y !== undefined && (typeof a === "number" || typeof b === "number")
      ? [x, y]
      : [String(a), String(b)];
  switch (op) {
    case "=":
      return l === r;
    case "!=":
      return l !== r;
    case "<":
      return l < r;
    case "<=":
      return l <= r;
    case ">":
      return l > r;
    default:
      return l >= r;
  }
}

/** Whether a filter keeps a row with this value. */
export function truthy(v: Value | undefined): boolean {
  return v !== undefined && v !== false && v !== 0 && v !== "";
}

/** Insights' natural order (ascending): non-numbers first, then numbers by value. */
export function naturalCompare(a: Value | undefined, b: Value | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) return x - y;
  if (x !== undefined) return 1;
  if (y !== undefined) return -1;
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const ca = chunks(String(a));
  const cb = chunks(String(b));
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const p = ca[i] ?? "";
    const q = cb[i] ?? "";
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q))
      return p.length !== q.length ? p.length - q.length : p < q ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return ca.length - cb.length;
}
