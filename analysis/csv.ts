/** A CSV cell value: numbers are written compactly, NaN and undefined as an empty field. */
export type CsvValue = string | number | boolean | undefined;

/** Formats a number for CSV: integers as is, others with 12 significant digits, NaN empty. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return "";
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(12)));
}

function field(v: CsvValue): string {
  if (v === undefined) return "";
  if (typeof v === "number") return formatNumber(v);
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV text: a header line and one line per row, `\n` line ends. */
export function toCsv(columns: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  const lines = [columns.map(field).join(",")];
  for (const row of rows) lines.push(row.map(field).join(","));
  return `${lines.join("\n")}\n`;
}
