/**
 * The local Lambda runtime's function registry: a function's definition as the local deployer
 * registers it (validated once, here), its name and ARN forms, its environments, and the
 * configuration that GetFunction and ListFunctions answer with.
 */
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { LAMBDA } from "../../core/constants";
import { InvalidInputError } from "../../core/errors";
import { LATEST, LOG_FORMATS, type LogFormat } from "../../core/lambda-logs";
import { logGroupName } from "../../core/names";
import type { ExecutionEnvironment } from "./environment";
import { ResourceConflictError, ResourceNotFoundError } from "./errors";

/** A function as the local deployer registers it. */
export interface LocalFunctionDefinition {
  functionName: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  /** undefined = unreserved (shares the account limit); never 0. */
  reservedConcurrency?: number;
  /** Absolute path of a CommonJS bundle. */
  bundlePath: string;
  /** Default "handler". */
  handlerExport?: string;
  /**
   * System and `console.*` log format, as CreateFunction's `LoggingConfig.LogFormat`; default
   * "Text", Lambda's default.
   */
  logFormat?: LogFormat;
}

/** The account id in local ARNs. */
export const LOCAL_ACCOUNT_ID = "000000000000";

const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A registered function and its environments. */
export interface FunctionState {
  readonly def: Required<Omit<LocalFunctionDefinition, "reservedConcurrency">> & {
    reservedConcurrency: number | undefined;
  };
  readonly arn: string;
  readonly logGroup: string;
  /** Warm environments, most recently used last. */
  readonly idle: ExecutionEnvironment[];
  readonly all: Set<ExecutionEnvironment>;
  inFlight: number;
  deleted: boolean;
}

/** Checks a definition; bad values name the field. Returns it with its defaults filled in. */
export function validateDefinition(def: LocalFunctionDefinition): FunctionState["def"] {
  if (!FUNCTION_NAME_PATTERN.test(def.functionName)) {
    throw new InvalidInputError(
      "functionName",
      def.functionName,
      "1–64 letters, digits, '-' and '_'",
    );
  }
  if (
    !Number.isSafeInteger(def.memoryMb) ||
    def.memoryMb < LAMBDA.minMemoryMb ||
    def.memoryMb > LAMBDA.maxMemoryMb
  ) {
    throw new InvalidInputError(
      "memoryMb",
      def.memoryMb,
      `an integer from ${LAMBDA.minMemoryMb} to ${LAMBDA.maxMemoryMb}`,
    );
  }
  if (
    !Number.isSafeInteger(def.timeoutSeconds) ||
    def.timeoutSeconds < 1 ||
    def.timeoutSeconds > LAMBDA.maxTimeoutSeconds
  ) {
    throw new InvalidInputError(
      "timeoutSeconds",
      def.timeoutSeconds,
      `an integer from 1 to ${LAMBDA.maxTimeoutSeconds}`,
    );
  }
  const rc = def.reservedConcurrency;
  if (rc !== undefined && (!Number.isSafeInteger(rc) || rc < 1)) {
    throw new InvalidInputError(
      "reservedConcurrency",
      rc,
      "an integer ≥ 1, or undefined for unreserved",
    );
  }
  if (!isAbsolute(def.bundlePath) || !existsSync(def.bundlePath)) {
    throw new InvalidInputError(
      "bundlePath",
      def.bundlePath,
      "the absolute path of an existing CommonJS bundle",
    );
  }
  const logFormat = def.logFormat ?? "Text";
  if (!LOG_FORMATS.includes(logFormat)) {
    throw new InvalidInputError("logFormat", logFormat, `one of ${LOG_FORMATS.join(", ")}`);
  }
  return {
    functionName: def.functionName,
    memoryMb: def.memoryMb,
    timeoutSeconds: def.timeoutSeconds,
    environment: { ...def.environment },
    reservedConcurrency: rc,
    bundlePath: def.bundlePath,
    handlerExport: def.handlerExport ?? "handler",
    logFormat,
  };
}

/** The registered functions of one runtime, by name. */
export class FunctionRegistry {
  private readonly functions = new Map<string, FunctionState>();

  constructor(private readonly region: string) {}

  /** Registers a checked definition; ResourceConflictException when the name is taken. */
  add(checked: FunctionState["def"]): void {
    if (this.functions.has(checked.functionName)) {
      throw new ResourceConflictError(`Function already exist: ${checked.functionName}`);
    }
    this.functions.set(checked.functionName, {
      def: checked,
      arn: this.arn(checked.functionName),
      logGroup: logGroupName(checked.functionName),
      idle: [],
      all: new Set(),
      inFlight: 0,
      deleted: false,
    });
  }

  /** Unregisters a function and marks it deleted; ResourceNotFoundException for an unknown name. */
  remove(name: string): FunctionState {
    const fn = this.functions.get(name);
    if (fn === undefined) throw new ResourceNotFoundError(`Function not found: ${this.arn(name)}`);
    this.functions.delete(name);
    fn.deleted = true;
    fn.idle.length = 0;
    return fn;
  }

  get(name: string): FunctionState | undefined {
    return this.functions.get(name);
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.functions.keys()].sort();
  }

  values(): IterableIterator<FunctionState> {
    return this.functions.values();
  }

  arn(name: string): string {
    return `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
  }

  /** Resolves a path segment (name, full or partial ARN, optional `:qualifier`) to a name. */
  resolveName(segment: string): { name: string; qualifier?: string } {
    const decoded = decodeURIComponent(segment);
    const m =
      /^(?:arn:[^:]+:lambda:[^:]*:\d*:function:|\d{12}:function:)?([^:]+)(?::([^:]+))?$/.exec(
        decoded,
      );
    if (!m || m[1] === undefined) return { name: decoded };
    return m[2] === undefined ? { name: m[1] } : { name: m[1], qualifier: m[2] };
  }

  /** The function a path segment names, if any (a malformed segment names none). */
  lookup(segment: string): FunctionState | undefined {
    try {
      return this.functions.get(this.resolveName(segment).name);
    } catch {
      return undefined;
    }
  }

  /** GetFunction's `Configuration` (and ListFunctions' entries). */
  configuration(fn: FunctionState): Record<string, unknown> {
    return {
      FunctionName: fn.def.functionName,
      FunctionArn: fn.arn,
      Runtime: "nodejs22.x",
      Handler: `handler.${fn.def.handlerExport}`,
      MemorySize: fn.def.memoryMb,
      Timeout: fn.def.timeoutSeconds,
      Version: LATEST,
      State: "Active",
      PackageType: "Zip",
      Environment: { Variables: fn.def.environment },
      LoggingConfig: { LogFormat: fn.def.logFormat, LogGroup: fn.logGroup },
    };
  }
}
