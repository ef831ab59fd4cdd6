/** Tokens of Logs Insights queries and the MalformedQueryException that points into one. */
import { LogsError } from "./errors";

/** A token of a query, with its character offsets. */
export interface Token {
  readonly t: "id" | "num" | "str" | "op" | "eof";
  readonly v: string;
  readonly pos: number;
  readonly end: number;
}

const TOKEN =
  /\s*(?:(`[^`]*`)|([A-Za-z_@][A-Za-z0-9_.@$]*)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(!=|<=|>=|[=<>()+\-*/%,|]))/y;

/** A MalformedQueryException pointing at a place in the query, worded like Insights'. */
export function malformed(query: string, pos: number, end: number, why?: string): LogsError {
  const before = query.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - (before.lastIndexOf("\n") + 1) + 1;
  const found = query.slice(pos, end) || "end of query";
  const message = `unexpected symbol found ${found} at line ${line} and position ${column}${why === undefined ? "" : `: ${why}`}`;
  return new LogsError("MalformedQueryException", message, {
    queryCompileError: { location: { startCharOffset: pos, endCharOffset: end }, message },
  });
}

/** Splits a query into tokens; names in backticks are identifiers. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const rest = query.slice(TOKEN.lastIndex);
    const blank = rest.match(/^\s*/)?.[0].length ?? 0;
    if (blank === rest.length) break;
    const at = TOKEN.lastIndex + blank;
    const m = TOKEN.exec(query);
    if (m === null) {
      // Not a token of the subset: the parser reports it where it meets it, so that an
      // unsupported command is named before a character inside it.
      tokens.push({ t: "op", v: query.slice(at, at + 1), pos: at, end: at + 1 });
      TOKEN.lastIndex = at + 1;
      continue;
    }
    const pos = TOKEN.lastIndex - m[0].trimStart().length;
    const end = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ t: "id", v: m[1].slice(1, -1), pos, end });
    else if (m[2] !== undefined) tokens.push({ t: "id", v: m[2], pos, end });
    else if (m[3] !== undefined) tokens.push({ t: "num", v: m[3], pos, end });
    else if (m[4] !== undefined) {
      const body = m[4].slice(1, -1).replace(/\\(.)/g, "$1");
      tokens.push({ t: "str", v: body, pos, end });
    } else tokens.push({ t: "op", v: m[5] ?? "", pos, end });
  }
  tokens.push({ t: "eof", v: "", pos: query.length, end: query.length });
  return tokens;
}
