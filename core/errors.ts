/**
 * Bad input, named: which input, the value given and what is allowed.
 * Every entry point (environment, config, CLI flag, matrix filter, pricing file) throws this
 * so that users see one message shape everywhere.
 */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  /** The input's name as the user wrote it: a variable, config key or flag. */
  readonly input: string;
  /** The offending value as given (undefined when missing). */
  readonly value: unknown;
  /** Human-readable description of the allowed values. */
  readonly allowed: string;

  constructor(input: string, value: unknown, allowed: string) {
    super(`${input}=${formatValue(value)} is invalid: allowed ${allowed}`);
    this.input = input;
    this.value = value;
    this.allowed = allowed;
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** True for an {@link InvalidInputError}, also across module copies (bundles). */
export function isInvalidInputError(e: unknown): e is InvalidInputError {
  return e instanceof Error && e.name === "InvalidInputError";
}

/**
 * Parses a whole decimal integer within [min, max], or throws {@link InvalidInputError}.
 * Rejects "", "1.5", "1e3", " 7", "0x10": inputs are typed by people, so be strict.
 */
export function parseIntInRange(
  input: string,
  raw: string | undefined,
  min: number,
  max: number,
): number {
  const allowed = `an integer from ${min} to ${max}`;
  if (raw === undefined || !/^-?\d+$/.test(raw)) throw new InvalidInputError(input, raw, allowed);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new InvalidInputError(input, raw, allowed);
  return n;
}

/** Parses one of a fixed set of strings, or throws {@link InvalidInputError}. */
export function parseOneOf<T extends string>(
  input: string,
  raw: string | undefined,
  allowed: readonly T[],
): T {
  if (raw !== undefined && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw new InvalidInputError(input, raw, `one of ${allowed.join(", ")}`);
}

/**
 * Parses a plain decimal number (`20`, `0.5`) within [min, max], or throws
 * {@link InvalidInputError}. Rejects signs, exponents, hex and surrounding spaces.
 */
export function parseNumberInRange(
  input: string,
  raw: string | undefined,
  min: number,
  max: number,
): number {
  const allowed = `a number from ${min} to ${max}`;
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw))
    throw new InvalidInputError(input, raw, allowed);
  const n = Number(raw);
  if (n < min || n > max) throw new InvalidInputError(input, raw, allowed);
  return n;
}
