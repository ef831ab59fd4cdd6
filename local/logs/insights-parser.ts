/**
 * The Logs Insights query language, the subset the local server evaluates: `fields`, `filter`
 * (`and`, `or`, `not`, `= != < <= > >=`, `+ - * / %`, `ispresent()`), `sort … asc|desc`,
 * `limit`, `stats` with `count(*)`, `count(f)`, `sum`, `min`, `max`, `avg`, `pct(f, N)`,
 * arithmetic between aggregates, `as` aliases and `by` fields. Anything else (e.g. `parse`,
 * `like`, regular expressions) is a MalformedQueryException, never a different answer.
 */
import type { LogsError } from "./errors";
import { malformed, type Token, tokenize } from "./insights-lexer";

/** An expression of a query. */
export type Expr =
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "field"; readonly name: string }
  | {
      readonly k: "call";
      readonly fn: string;
      readonly args: readonly Expr[];
      readonly star: boolean;
    }
  | { readonly k: "bin"; readonly op: string; readonly l: Expr; readonly r: Expr }
  | { readonly k: "not"; readonly e: Expr }
  | { readonly k: "neg"; readonly e: Expr };

/** A named output of `fields` or `stats`: the alias, or the expression's text. */
export interface NamedExpr {
  readonly name: string;
  readonly expr: Expr;
}

/** One command of the pipeline. */
export type Command =
  | { readonly k: "fields"; readonly items: readonly NamedExpr[] }
  | { readonly k: "filter"; readonly expr: Expr }
  | {
      readonly k: "sort";
      readonly keys: readonly { readonly expr: Expr; readonly desc: boolean }[];
    }
  | { readonly k: "limit"; readonly n: number }
  | {
      readonly k: "stats";
      readonly items: readonly NamedExpr[];
      readonly by: readonly NamedExpr[];
    };

/** The aggregate functions of `stats`. */
export const AGGREGATES = ["count", "sum", "min", "max", "avg", "pct"] as const;
const SCALARS = ["ispresent"] as const;
const COMMANDS = ["fields", "filter", "sort", "limit", "stats"] as const;
/** Most rows a query returns (`limit` and StartQuery's `limit`). */
export const QUERY_MAX_ROWS = 10_000;

/** Parses a query into its commands; throws MalformedQueryException. */
export function parseQuery(query: string): Command[] {
  const tokens = tokenize(query);
  let i = 0;
  const peek = (): Token => tokens[i] ?? (tokens[tokens.length - 1] as Token);
  const next = (): Token => {
    const tok = peek();
    i = Math.min(i + 1, tokens.length - 1);
    return tok;
  };
  const fail = (tok: Token, why?: string): LogsError => malformed(query, tok.pos, tok.end, why);
  const isOp = (v: string) => peek().t === "op" && peek().v === v;
  const isKw = (v: string) => peek().t === "id" && peek().v.toLowerCase() === v;
  const expectOp = (v: string) => {
    if (!isOp(v)) throw fail(peek(), `expected ${v}`);
    next();
  };
  let inStats = false;
  let aggDepth = 0;

  const expr = (): Expr => orExpr();
  const orExpr = (): Expr => {
    let l = andExpr();
    while (isKw("or")) {
      next();
      l = { k: "bin", op: "or", l, r: andExpr() };
    }
    return l;
  };
  const andExpr = (): Expr => {
    let l = notExpr();
    while (isKw("and")) {
      next();
      l = { k: "bin", op: "and", l, r: notExpr() };
    }
    return l;
  };
  const notExpr = (): Expr => {
    if (isKw("not")) {
      next();
      return { k: "not", e: notExpr() };
    }
    return cmpExpr();
  };
  const cmpExpr = (): Expr => {
    const l = addExpr();
    const tok = peek();
    if (tok.t === "op" && ["=", "!=", "<", "<=", ">", ">="].includes(tok.v)) {
      next();
      return { k: "bin", op: tok.v, l, r: addExpr() };
    }
    return l;
  };
  const addExpr = (): Expr => {
    let l = mulExpr();
    while (isOp("+") || isOp("-")) {
      const op = next().v;
      l = { k: "bin", op, l, r: mulExpr() };
    }
    return l;
  };
  const mulExpr = (): Expr => {
    let l = unary();
    while (isOp("*") || isOp("/") || isOp("%")) {
      const op = next().v;
      l = { k: "bin", op, l, r: unary() };
    }
    return l;
  };
  const unary = (): Expr => {
    if (isOp("-")) {
      next();
      return { k: "neg", e: unary() };
    }
    return primary();
  };
  const primary = (): Expr => {
    const tok = next();
    if (tok.t === "num") return { k: "num", v: Number(tok.v) };
    if (tok.t === "str") return { k: "str", v: tok.v };
    if (tok.t === "op" && tok.v === "(") {
      const inner = expr();
      expectOp(")");
      return inner;
    }
    if (
      tok.t !== "id" ||
      ["and", "or", "not", "as", "by", "asc", "desc"].includes(tok.v.toLowerCase())
    ) {
      throw fail(tok);
    }
    if (!isOp("(")) return { k: "field", name: tok.v };
    const fn = tok.v.toLowerCase();
    const aggregate = (AGGREGATES as readonly string[]).includes(fn);
    if (!aggregate && !(SCALARS as readonly string[]).includes(fn)) {
      throw fail(
        tok,
        "the local Logs Insights supports ispresent() and count, sum, min, max, avg, pct",
      );
    }
    if (aggregate && (!inStats || aggDepth > 0)) {
      throw fail(tok, "aggregate functions are allowed only in stats, not nested");
    }
    next();
    if (aggregate) aggDepth++;
    const args: Expr[] = [];
    let star = false;
    if (fn === "count" && isOp("*")) {
      next();
      star = true;
    } else if (!isOp(")")) {
      args.push(expr());
      while (isOp(",")) {
        next();
        args.push(expr());
      }
    }
    expectOp(")");
    if (aggregate) aggDepth--;
    const arity =
      fn === "pct" ? 2 : fn === "count" ? (star ? 0 : args.length <= 1 ? args.length : -1) : 1;
    if (args.length !== arity) throw fail(tok, `wrong number of arguments to ${fn}`);
    if (fn === "pct" && args[1]?.k !== "num") throw fail(tok, "pct needs a number from 0 to 100");
    return { k: "call", fn, args, star: star || (fn === "count" && args.length === 0) };
  };
  const named = (): NamedExpr => {
    const start = peek().pos;
    const e = expr();
    const text = query.slice(start, tokens[i - 1]?.end ?? start).trim();
    if (isKw("as")) {
      next();
      const alias = next();
      if (alias.t !== "id") throw fail(alias, "expected a name after as");
      return { name: alias.v, expr: e };
    }
    return { name: e.k === "field" ? e.name : text, expr: e };
  };
  const list = (): NamedExpr[] => {
    const items = [named()];
    while (isOp(",")) {
      next();
      items.push(named());
    }
    return items;
  };

  const commands: Command[] = [];
  for (;;) {
    const head = next();
    const name = head.v.toLowerCase();
    if (head.t !== "id" || !(COMMANDS as readonly string[]).includes(name)) {
      throw fail(head, "the local Logs Insights supports fields, filter, sort, limit and stats");
    }
    if (name === "fields") commands.push({ k: "fields", items: list() });
    else if (name === "filter") commands.push({ k: "filter", expr: expr() });
    else if (name === "limit") {
      const n = next();
      const v = Number(n.v);
      if (n.t !== "num" || !Number.isInteger(v) || v < 1 || v > QUERY_MAX_ROWS) {
        throw fail(n, `limit takes an integer from 1 to ${QUERY_MAX_ROWS}`);
      }
      commands.push({ k: "limit", n: v });
    } else if (name === "sort") {
      const keys: { expr: Expr; desc: boolean }[] = [];
      do {
        if (keys.length > 0) next();
        const e = primary();
        if (!isKw("asc") && !isKw("desc")) throw fail(peek(), "sort needs asc or desc");
        keys.push({ expr: e, desc: next().v.toLowerCase() === "desc" });
      } while (isOp(","));
      commands.push({ k: "sort", keys });
    } else {
      inStats = true;
      const items = list();
      inStats = false;
      let by: NamedExpr[] = [];
      if (isKw("by")) {
        next();
        by = list();
        for (const b of by)
          if (b.expr.k !== "field") throw fail(peek(), "stats … by takes field names");
      }
      for (const item of items) {
        if (!hasAggregate(item.expr)) throw fail(head, `${item.name} is not an aggregate`);
      }
      commands.push({ k: "stats", items, by });
    }
    const sep = next();
    if (sep.t === "eof") return commands;
    if (sep.t !== "op" || sep.v !== "|") throw fail(sep);
  }
}

/** Whether an expression holds an aggregate function call. */
export function hasAggregate(e: Expr): boolean {
  switch (e.k) {
    case "call":
      return (AGGREGATES as readonly string[]).includes(e.fn) || e.args.some(hasAggregate);
    case "bin":
      return hasAggregate(e.l) || hasAggregate(e.r);
    case "not":
    case "neg":
      return hasAggregate(e.e);
    default:
      return false;
  }
}
