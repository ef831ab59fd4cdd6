/**
 * The one argument-parsing convention of the project's CLIs, over Node's `util.parseArgs`.
 * Every CLI declares its flags here and gets the same rules and the same error shape
 * ({@link InvalidInputError}: the flag as typed, its value and what is allowed; exit 2):
 *
 * - `--flag VALUE` or `--flag=VALUE`; a value that starts with `--` (or is a short flag such
 *   as `-h`) is a forgotten value, not a value, unless written `--flag=VALUE`. Values that
 *   start with a single dash (`-1`) are values, so a CLI can say why they are out of range.
 * - Switches take no value (`--dry-run=yes` is an error); no `--no-` negation.
 * - A flag at most once; unknown flags and (unless allowed) positionals are errors.
 * - `-h` and `--help` everywhere, and they win over every other argument so that help is
 *   always reachable. Help text stays each CLI's own.
 *
 * `parseArgs` runs non-strict with `tokens`: its strict errors name the flag but not the
 * value ("argument missing", "ambiguous"), so the checks are made here from the tokens.
 */
import { parseArgs } from "node:util";
import { InvalidInputError } from "./errors";

/** One flag: a `string` takes a value, a `boolean` is a switch. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** A one-letter alias, e.g. `"p"` for `-p`. */
  readonly short?: string;
}

/** A CLI's flags by long name (without the leading `--`); `help` is added by {@link parseFlags}. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The flags given: a string for a value flag, `true` for a switch; absent when not given. */
export type FlagValues<S extends FlagSpecs> = {
  readonly [K in keyof S]?: S[K]["type"] extends "boolean" ? true : string;
};

/** What the command line said. */
export type ParsedFlags<S extends FlagSpecs> =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly values: FlagValues<S>;
      /** Long names of the given flags, in the order typed. */
      readonly given: readonly (keyof S & string)[];
      readonly positionals: readonly string[];
    };

/** How a CLI takes positional arguments. */
export interface PositionalSpec {
  /** What the positionals are, for the error message (e.g. `"run directory"`). */
  readonly name: string;
  /** The most allowed. */
  readonly max: number;
  /** What is allowed, for the error message. */
  readonly allowed: string;
}

const HELP: FlagSpec = { type: "boolean", short: "h" };

/** The flags as `--help` names them, for "allowed" in errors: `--a, --b (-b), --help (-h)`. */
export function flagList(specs: FlagSpecs): string {
  return Object.entries({ ...specs, help: HELP })
    .map(([name, s]) => `--${name}${s.short === undefined ? "" : ` (-${s.short})`}`)
    .join(", ");
}

/** A forgotten value: the next argument is a flag (`--x`) or a one-letter short flag (`-h`). */
function looksLikeFlag(arg: string): boolean {
  return arg.startsWith("--") || /^-[A-Za-z]$/.test(arg);
}

/**
 * Parses `argv` (without node and the script) against `specs`. Throws
 * {@link InvalidInputError} for the first bad argument; returns `{ help: true }` when `-h`
 * or `--help` is given (as a plain switch) anywhere.
 */
export function parseFlags<S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
  positionals?: PositionalSpec,
): ParsedFlags<S> {
  if ("help" in specs) throw new Error("parseFlags adds help itself");
  const options = { ...specs, help: HELP };
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    allowNegative: false,
    tokens: true,
  });
  if (tokens.some((t) => t.kind === "option" && t.name === "help" && t.value === undefined)) {
    return { help: true };
  }
  const allowedFlags = `one of ${flagList(specs)}`;
  const values: Record<string, string | true> = {};
  const given: string[] = [];
  const rest: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      if (positionals === undefined) {
        throw new InvalidInputError("argument", token.value, `flags only (${allowedFlags})`);
      }
      rest.push(token.value);
      continue;
    }
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    // Short aliases resolve to their long name; an unknown one keeps what was typed.
    if (spec === undefined) throw new InvalidInputError("flag", token.rawName, allowedFlags);
    const flag = token.rawName;
    let value: string | true;
    if (spec.type === "boolean") {
      if (token.value !== undefined) {
        throw new InvalidInputError(flag, token.value, "no value (a switch)");
      }
      value = true;
    } else {
      if (token.value === undefined) {
        throw new InvalidInputError(flag, undefined, "a value after the flag");
      }
      if (!token.inlineValue && looksLikeFlag(token.value)) {
        throw new InvalidInputError(
          flag,
          undefined,
          `a value after the flag (${token.value} is a flag; a value that starts with - is written ${flag}=VALUE)`,
        );
      }
      value = token.value;
    }
    if (Object.hasOwn(values, token.name)) {
      throw new InvalidInputError(flag, value, "the flag at most once");
    }
    values[token.name] = value;
    given.push(token.name);
  }
  if (positionals !== undefined && rest.length > positionals.max) {
    throw new InvalidInputError(positionals.name, rest.join(" "), positionals.allowed);
  }
  return {
    help: false,
    values: values as FlagValues<S>,
    given: given as (keyof S & string)[],
    positionals: rest,
  };
}
