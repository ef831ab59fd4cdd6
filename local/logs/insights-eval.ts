/**
 * Evaluates a parsed Logs Insights query over log events. Fields are discovered as Insights
 * discovers them: the JSON keys of a message that is a JSON object (nested keys joined with
 * dots, array items as `key.0`), plus `@timestamp`, `@message`, `@logStream`, `@log` and
 * `@ingestionTime`. Result values are strings; time fields read `YYYY-MM-DD HH:MM:SS.mmm`.
 * `pct` interpolates linearly between closest ranks (the report's definition, README "How to read the report"): Insights
 * documents no exact algorithm, so local p95s match the analysis, not necessarily AWS's.
 */
import { percentile } from "../../core/percentile";
import type { Command, Expr, NamedExpr } from "./insights-parser";
import { compare, formatTime, naturalCompare, num, truthy, type Value } from "./insights-values";

/** One event of the queried groups. */
export interface QueryEvent {
  readonly timestamp: number;
  readonly ingestionTime: number;
  readonly message: string;
  readonly logStreamName: string;
  /** `<account>:<group>` as Insights' `@log`. */
  readonly log: string;
  /** The opaque `@ptr` of the event. */
  readonly ptr: string;
}

type Row = Map<string, Value>;

/** What a query returns. */
export interface QueryOutput {
  readonly rows: { field: string; value: string }[][];
  readonly statistics: { recordsMatched: number; recordsScanned: number; bytesScanned: number };
}

const TIME_FIELDS = new Set(["@timestamp", "@ingestionTime"]);

function flatten(prefix: string, v: unknown, row: Row): void {
  if (v === null || v === undefined) return;
  if (typeof v === "object") {
    for (const [k, child] of Object.entries(v))
      flatten(prefix === "" ? k : `${prefix}.${k}`, child, row);
  } else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
    if (prefix !== "" && !row.has(prefix)) row.set(prefix, v);
  }
}

function discover(e: QueryEvent): Row {
  const row: Row = new Map<string, Value>([
    ["@timestamp", e.timestamp],
    ["@message", e.message],
    ["@logStream", e.logStreamName],
    ["@log", e.log],
    ["@ingestionTime", e.ingestionTime],
  ]);
  if (e.message.trimStart().startsWith("{")) {
    try {
      flatten("", JSON.parse(e.message), row);
    } catch {
      // not JSON after all: only the @ fields
    }
  }
  return row;
}

/** The value of an expression for one row; aggregates come from `aggs` (stats output). */
function evaluate(e: Expr, row: Row, group?: readonly Row[]): Value | undefined {
  switch (e.k) {
    case "num":
    case "str":
      return e.v;
    case "field":
      return row.get(e.name);
    case "not":
      return !truthy(evaluate(e.e, row, group));
    case "neg": {
      const v = num(evaluate(e.e, row, group));
      return v === undefined ? undefined : -v;
    }
    case "call":
      if (e.fn === "ispresent") return evaluate(e.args[0] as Expr, row, group) !== undefined;
      return aggregate(e, group ?? [row]);
    case "bin": {
      if (e.op === "and")
        return truthy(evaluate(e.l, row, group)) && truthy(evaluate(e.r, row, group));
      if (e.op === "or")
        return truthy(evaluate(e.l, row, group)) || truthy(evaluate(e.r, row, group));
      const l = evaluate(e.l, row, group);
      const r = evaluate(e.r, row, group);
      if (["=", "!=", "<", "<=", ">", ">="].includes(e.op)) return compare(e.op, l, r);
      const x = num(l);
      const y = num(r);
      if (x === undefined || y === undefined) return undefined;
      const out =
        e.op === "+"
          ? x + y
          : e.op === "-"
            ? x - y
            : e.op === "*"
              ? x * y
              : e.op === "/"
                ? x / y
                : x % y;
      return Number.isFinite(out) ? out : undefined;
    }
  }
}

function aggregate(e: Extract<Expr, { k: "call" }>, rows: readonly Row[]): Value | undefined {
  if (e.fn === "count" && e.star) return rows.length;
  const arg = e.args[0] as Expr;
  const values = rows.map((r) => evaluate(arg, r)).filter((v) => v !== undefined);
  if (e.fn === "count") return values.length;
  const numbers = values.map(num).filter((v): v is number => v !== undefined);
  if (numbers.length === 0) return undefined;
  switch (e.fn) {
    case "sum":
      return numbers.reduce((s, v) => s + v, 0);
    case "avg":
      return numbers.reduce((s, v) => s + v, 0) / numbers.length;
    case "min":
      return numbers.reduce((m, v) => Math.min(m, v));
    case "max":
      return numbers.reduce((m, v) => Math.max(m, v));
    default:
      return percentile(numbers, (e.args[1] as { v: number }).v);
  }
}

function isTime(item: NamedExpr): boolean {
  const e = item.expr;
  if (e.k === "field") return TIME_FIELDS.has(e.name);
  return (
    e.k === "call" &&
    (e.fn === "min" || e.fn === "max") &&
    e.args[0]?.k === "field" &&
    TIME_FIELDS.has(e.args[0].name)
  );
}

/**
 * Runs the commands over the events of the query's range. `partial` decides which matching
 * records Insights sees (a fault); it applies where the first sort, limit or stats begins.
 */
export function runCommands(
  commands: readonly Command[],
  events: readonly QueryEvent[],
  limit: number,
  partial: (rows: readonly Row[]) => readonly Row[] = (rows) => rows,
): QueryOutput {
  let rows: readonly Row[] = events.map((e) => {
    const row = discover(e);
    row.set("@ptr", e.ptr);
    return row;
  });
  const bytesScanned = events.reduce((s, e) => s + Buffer.byteLength(e.message), 0);
  let matched: number | undefined;
  let projection: NamedExpr[] | undefined;
  let stats = false;
  const settle = () => {
    if (matched !== undefined) return;
    rows = partial(rows);
    matched = rows.length;
  };
  for (const c of commands) {
    if (c.k === "filter") rows = rows.filter((r) => truthy(evaluate(c.expr, r)));
    else if (c.k === "fields") {
      for (const item of c.items) {
        if (item.expr.k === "field" && item.expr.name === item.name) continue;
        for (const r of rows) setValue(r, item.name, evaluate(item.expr, r));
      }
      projection = [...(projection ?? []), ...c.items];
    } else if (c.k === "limit") {
      settle();
      rows = rows.slice(0, c.n);
    } else if (c.k === "sort") {
      settle();
      rows = [...rows].sort((a, b) => {
        for (const key of c.keys) {
          const x = evaluate(key.expr, a);
          const y = evaluate(key.expr, b);
          // Rows without the field go last in either direction.
          if (x === undefined || y === undefined) {
            if (x !== y) return x === undefined ? 1 : -1;
            continue;
          }
          const d = naturalCompare(x, y);
          if (d !== 0) return key.desc ? -d : d;
        }
        return 0;
      });
    } else {
      settle();
      const groups = new Map<string, Row[]>();
      for (const r of rows) {
        const key = JSON.stringify(c.by.map((b) => r.get(b.name) ?? null));
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      rows = [...groups.values()].map((g) => {
        const out: Row = new Map();
        for (const b of c.by) setValue(out, b.name, (g[0] as Row).get(b.name));
        for (const item of c.items) setValue(out, item.name, evaluate(item.expr, out, g));
        return out;
      });
      projection = [...c.by, ...c.items];
      stats = true;
    }
  }
  settle();
  const names = projection?.map((p) => p.name);
  const timeNames = new Set((projection ?? []).filter(isTime).map((p) => p.name));
  const output = rows.slice(0, limit).map((r) => {
    const fields = names ?? [...r.keys()].filter((k) => k !== "@ptr");
    const cells: { field: string; value: string }[] = [];
    for (const field of new Set(fields)) {
      const v = r.get(field);
      if (v === undefined) continue;
      const time = timeNames.has(field) || (names === undefined && TIME_FIELDS.has(field));
      cells.push({ field, value: time && typeof v === "number" ? formatTime(v) : String(v) });
    }
    if (!stats) cells.push({ field: "@ptr", value: String(r.get("@ptr")) });
    return cells;
  });
  return {
    rows: output,
    statistics: {
      recordsMatched: matched ?? rows.length,
      recordsScanned: events.length,
      bytesScanned,
    },
  };
}

function setValue(row: Row, name: string, v: Value | undefined): void {
  if (v === undefined) row.delete(name);
  else row.set(name, v);
}
