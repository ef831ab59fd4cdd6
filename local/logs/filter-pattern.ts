/**
 * CloudWatch Logs filter patterns (FilterLogEvents' `filterPattern`), the subset the local
 * server supports: terms and JSON patterns. Anything else is rejected with
 * InvalidParameterException rather than answered differently from CloudWatch.
 *
 * - `""` matches every event.
 * - Terms match case-sensitively anywhere in the message: `ERROR`, `"exact phrase"` (quoted
 *   terms may hold any character; `\"` is a quote), several terms = all must match, `?a ?b` =
 *   any must match, `-term` excludes events holding the term.
 * - JSON patterns: `{ $.a.b = "v" }`, `!=`, numbers with `= != < <= > >=`, `*` as a wildcard
 *   in string values, `&&`, `||` and parentheses.
 */
import { LogsError } from "./errors";

/** A compiled filter pattern. */
export type EventMatcher = (message: string) => boolean;

function unsupported(pattern: string, why: string): LogsError {
  return new LogsError(
    "InvalidParameterException",
    `Invalid filter pattern ${JSON.stringify(pattern)}: ${why}`,
  );
}

const BARE_TERM = /^[A-Za-z0-9_]+$/;

/** Compiles a pattern; throws InvalidParameterException for syntax the server does not support. */
export function compileFilterPattern(pattern: string): EventMatcher {
  const text = pattern.trim();
  if (text === "") return () => true;
  if (text.startsWith("{")) return compileJsonPattern(pattern, text);
  if (text.startsWith("["))
    throw unsupported(pattern, "space-delimited patterns are not supported");
  if (text.startsWith("%")) throw unsupported(pattern, "regular expressions are not supported");
  return compileTerms(pattern, text);
}

function compileTerms(pattern: string, text: string): EventMatcher {
  const all: string[] = [];
  const any: string[] = [];
  const none: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] ?? "")) {
      i++;
      continue;
    }
    const prefix = text[i] === "?" || text[i] === "-" ? text[i] : "";
    if (prefix !== "") i++;
    let term = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) throw unsupported(pattern, "unterminated quoted term");
        i++;
        if (c === '"') break;
        if (c === "\\" && (text[i] === '"' || text[i] === "\\")) {
          term += text[i];
          i++;
        } else term += c;
      }
      if (i < text.length && !/\s/.test(text[i] ?? "")) {
        throw unsupported(pattern, "a quoted term must be followed by a space");
      }
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i] ?? "")) i++;
      term = text.slice(start, i);
      if (!BARE_TERM.test(term)) {
        throw unsupported(
          pattern,
          `term ${term} has characters other than letters, digits and _; quote it`,
        );
      }
    }
    (prefix === "?" ? any : prefix === "-" ? none : all).push(term);
  }
  if (any.length > 0 && (all.length > 0 || none.length > 0)) {
    throw unsupported(pattern, "?term cannot be combined with other terms here");
  }
  return (m) =>
    all.every((t) => m.includes(t)) &&
    none.every((t) => !m.includes(t)) &&
    (any.length === 0 || any.some((t) => m.includes(t)));
}

type JsonNode =
  | { kind: "and" | "or"; left: JsonNode; right: JsonNode }
  | { kind: "cmp"; path: string[]; op: string; value: string | number };

const JSON_TOKEN =
  /\s*(\$(?:\.[A-Za-z0-9_@-]+)+|&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\}|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z0-9_*.:/@-]+)/y;

function compileJsonPattern(pattern: string, text: string): EventMatcher {
  const tokens: string[] = [];
  JSON_TOKEN.lastIndex = 0;
  for (;;) {
    if (/^\s*$/.test(text.slice(JSON_TOKEN.lastIndex))) break;
    const m = JSON_TOKEN.exec(text);
    if (m === null)
      throw unsupported(pattern, `unexpected ${text.slice(JSON_TOKEN.lastIndex).trim()}`);
    tokens.push(m[1] ?? "");
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (t: string) => {
    if (tokens[pos] !== t) throw unsupported(pattern, `expected ${t}`);
    pos++;
  };
  const or = (): JsonNode => {
    let left = and();
    while (peek() === "||") {
      pos++;
      left = { kind: "or", left, right: and() };
    }
    return left;
  };
  const and = (): JsonNode => {
    let left = primary();
    while (peek() === "&&") {
      pos++;
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };
  const primary = (): JsonNode => {
    if (peek() === "(") {
      pos++;
      const inner = or();
      expect(")");
      return inner;
    }
    const selector = tokens[pos++] ?? "";
    if (!selector.startsWith("$."))
      throw unsupported(pattern, `expected a $.selector, got ${selector}`);
    const op = tokens[pos++] ?? "";
    if (!["=", "!=", "<", "<=", ">", ">="].includes(op)) {
      throw unsupported(pattern, `operator ${op} is not supported`);
    }
    const raw = tokens[pos++];
    if (raw === undefined) throw unsupported(pattern, "a value is missing");
    const number = Number(raw);
    const value = raw.startsWith('"')
      ? (JSON.parse(raw) as string)
      : Number.isFinite(number)
        ? number
        : raw;
    if (typeof value === "string" && !["=", "!="].includes(op)) {
      throw unsupported(pattern, `${op} needs a number`);
    }
    return { kind: "cmp", path: selector.slice(2).split("."), op, value };
  };
  expect("{");
  const tree = or();
  expect("}");
  if (pos !== tokens.length) throw unsupported(pattern, `unexpected ${tokens[pos]}`);
  return (message) => {
    let doc: unknown;
    try {
      doc = JSON.parse(message);
    } catch {
      return false;
    }
    return evalJson(tree, doc);
  };
}

function evalJson(node: JsonNode, doc: unknown): boolean {
  if (node.kind !== "cmp") {
    return node.kind === "and"
      ? evalJson(node.left, doc) && evalJson(node.right, doc)
      : evalJson(node.left, doc) || evalJson(node.right, doc);
  }
  let v: unknown = doc;
  for (const key of node.path) {
    if (typeof v !== "object" || v === null || !(key in v)) return false;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof node.value === "number") {
    if (typeof v !== "number") return false;
    const x = node.value;
    switch (node.op) {
      case "=":
        return v === x;
      case "!=":
        return v !== x;
      case "<":
        return v < x;
      case "<=":
        return v <= x;
      case ">":
        return v > x;
      default:
        return v >= x;
    }
  }
  if (typeof v !== "string") return false;
  const re = new RegExp(`^${node.value.split("*").map(escapeRegExp).join(".*")}$`, "s");
  return node.op === "=" ? re.test(v) : !re.test(v);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
