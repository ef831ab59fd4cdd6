/**
 * Small helpers shared by the handler's modules: error messages and the cold-start flag.
 */

/** A one-line message for any thrown value (SDK errors sometimes carry only a code or name). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    if (e.message !== "") return e.message;
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? `${e.name}: ${code}` : e.name;
  }
  return String(e);
}

let coldStart = true;

/**
 * True on the first call in this process (a Lambda execution environment), false afterwards:
 * the `cold_start` field of the EMF line.
 */
export function takeColdStart(): boolean {
  const first = coldStart;
  coldStart = false;
  return first;
}
