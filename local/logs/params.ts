/**
 * Request members of the AWS JSON protocol, read with their types checked, and opaque paging
 * tokens bound to the request they page.
 */
import { createHash } from "node:crypto";
import { invalidParameter, LogsError } from "./errors";

/** One request's JSON members. */
export class Params {
  constructor(private readonly body: Record<string, unknown>) {}

  /** A string member, or undefined when absent. */
  /** CloudWatch Logs' answer when two parameters that exclude each other are both given. */
  exclusive(bothGiven: boolean, first: string, second: string): void {
    if (bothGiven) {
      throw new LogsError(
        "InvalidParameterException",
        `${first} and ${second} are mutually exclusive parameters.`,
      );
    }
  }

  str(name: string): string | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw invalidParameter(name, v, "a string");
    return v;
  }

  /** An integer within [min, max]. */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
      throw invalidParameter(name, v, `an integer from ${min} to ${max}`);
    }
    return v;
  }

  /** A boolean member, or undefined when absent. */
  bool(name: string): boolean | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw invalidParameter(name, v, "true or false");
    return v;
  }

  /** A list of strings, or undefined when absent. */
  strings(name: string): string[] | undefined {
    const v = this.body[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
      throw invalidParameter(name, v, "a list of strings");
    }
    return v as string[];
  }

  /**
   * The log group of a request: `logGroupName` or `logGroupIdentifier` (a name or an ARN),
   * exactly one of them.
   */
  logGroup(): string {
    const name = this.str("logGroupName");
    const id = this.str("logGroupIdentifier");
    this.exclusive(name !== undefined && id !== undefined, "LogGroupName", "LogGroupIdentifier");
    const group = name ?? (id === undefined ? undefined : groupFromIdentifier(id));
    if (group === undefined || group === "") {
      throw new LogsError(
        "InvalidParameterException",
        "Either logGroupName or logGroupIdentifier must be specified.",
      );
    }
    return group;
  }
}

/** The group name of a log-group identifier: a name, or `arn:aws:logs:<r>:<a>:log-group:<name>[:*]`. */
export function groupFromIdentifier(id: string): string {
  const m = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:(.+?)(?::\*)?$/.exec(id);
  return m?.[1] ?? id;
}

/** A token that resumes a listing: the request's fingerprint plus where the last page ended. */
export function encodeToken(request: unknown, position: unknown): string {
  return Buffer.from(JSON.stringify({ f: fingerprint(request), p: position })).toString(
    "base64url",
  );
}

/** The position of a token made by {@link encodeToken} for the same request; else InvalidParameterException. */
export function decodeToken(token: string, request: unknown): unknown {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      f?: unknown;
      p?: unknown;
    };
    if (parsed.f === fingerprint(request) && parsed.p !== undefined) return parsed.p;
  } catch {
    // falls through to the error below
  }
  throw new LogsError("InvalidParameterException", "The specified nextToken is invalid.");
}

function fingerprint(request: unknown): string {
  return createHash("sha256").update(JSON.stringify(request)).digest("hex").slice(0, 16);
}
