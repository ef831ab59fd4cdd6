// @ts-check
/**
 * The runtime inside one local execution environment (a forked child process), the local
 * counterpart of Lambda's Node.js runtime interface client: it loads the CommonJS bundle once
 * (INIT), then runs one invocation at a time on request of the parent over IPC (INVOKE).
 *
 * Plain JavaScript on purpose: the child runs with the bare Node binary (no ts-node, no tap
 * loaders), like a deployment package runs on Lambda.
 *
 * argv: <bundlePath> <handlerExport> <sentinel>. After each invocation the sentinel is written
 * to stdout and stderr so that the parent knows every line of that invocation has arrived
 * before it writes END (the pipes and the IPC channel are separate file descriptors).
 */

const { format } = require("node:util");

const [bundlePath = "", handlerExport = "handler", sentinel = ""] = process.argv.slice(2);

/** @type {string | undefined} */
let currentRequestId;

/** The function's log format, as Lambda sets it (`JSON` or `Text`). */
const jsonFormat = process.env.AWS_LAMBDA_LOG_FORMAT === "JSON";

/**
 * Lambda's Node runtime writes console output as one log event per call: in the Text format
 * prefixed with time, request id and level, newlines turned into carriage returns; in the JSON
 * format as `{"timestamp","level","requestId","message"}`. `process.stdout.write` stays raw in
 * both (core/lambda-logs.ts describes the formats).
 * @param {string} level
 * @param {"stdout" | "stderr"} stream
 */
function patchConsole(level, stream) {
  return (/** @type {unknown[]} */ ...args) => {
    const time = new Date().toISOString();
    const text = format(...args);
    const line = jsonFormat
      ? JSON.stringify({
          timestamp: time,
          level,
          ...(currentRequestId === undefined ? {} : { requestId: currentRequestId }),
          message: text,
        })
      : `${time}\t${currentRequestId}\t${level}\t${text.replace(/\n/g, "\r")}`;
    process[stream].write(`${line}\n`);
  };
}
console.log = patchConsole("INFO", "stdout");
console.info = patchConsole("INFO", "stdout");
console.warn = patchConsole("WARN", "stdout");
console.error = patchConsole("ERROR", "stdout");
console.debug = patchConsole("DEBUG", "stdout");
console.trace = patchConsole("TRACE", "stdout");

/**
 * Lambda's error payload for a thrown value.
 * @param {unknown} e
 * @returns {{ errorType: string; errorMessage: string; trace: string[] }}
 */
function errorPayload(e) {
  if (e instanceof Error) {
    return {
      errorType: e.name || e.constructor.name || "Error",
      errorMessage: e.message,
      trace: typeof e.stack === "string" ? e.stack.split("\n") : [],
    };
  }
  return { errorType: typeof e, errorMessage: String(e), trace: [] };
}

/** @param {unknown} message */
function send(message) {
  if (process.send) process.send(message);
}

/** @type {((event: unknown, context: unknown, callback: (err: unknown, result?: unknown) => void) => unknown) | undefined} */
let handler;

function init() {
  /** @type {Record<string, unknown>} */
  let mod;
  try {
    mod = require(bundlePath);
  } catch (e) {
    const code = e instanceof Error && "code" in e ? e.code : undefined;
    if (code === "MODULE_NOT_FOUND" && e instanceof Error && e.message.includes(bundlePath)) {
      return {
        errorType: "Runtime.ImportModuleError",
        errorMessage: `Error: Cannot find module '${bundlePath}'`,
        trace: [],
      };
    }
    return errorPayload(e);
  }
  const candidate = mod[handlerExport];
  if (typeof candidate !== "function") {
    return {
      errorType: "Runtime.HandlerNotFound",
      errorMessage: `${bundlePath}.${handlerExport} is undefined or not exported`,
      trace: [],
    };
  }
  handler = /** @type {typeof handler} */ (candidate);
  return undefined;
}

/**
 * Runs the handler as Lambda does: async handlers resolve, callback handlers call back.
 * @param {unknown} event
 * @param {unknown} context
 * @returns {Promise<unknown>}
 */
function runHandler(event, context) {
  return new Promise((resolve, reject) => {
    const fn = handler;
    if (fn === undefined) {
      reject(new Error("handler not initialised"));
      return;
    }
    let settled = false;
    /** @param {unknown} err @param {unknown} [result] */
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    let returned;
    try {
      returned = fn(event, context, callback);
    } catch (e) {
      callback(e);
      return;
    }
    if (returned !== null && typeof returned === "object" && "then" in returned) {
      Promise.resolve(returned).then(
        (r) => callback(null, r),
        (e) => callback(e === null || e === undefined ? new Error(String(e)) : e),
      );
    } else if (fn.length < 3) {
      callback(null, returned);
    }
  });
}

function flushMarkers() {
  process.stdout.write(`${sentinel}${currentRequestId}\n`);
  process.stderr.write(`${sentinel}${currentRequestId}\n`);
}

/**
 * @param {{ requestId: string; payload: string; deadlineMs: number; functionName: string;
 *   functionVersion: string; memoryLimitInMB: string; invokedFunctionArn: string;
 *   logGroupName: string; logStreamName: string }} msg
 */
async function invoke(msg) {
  currentRequestId = msg.requestId;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: msg.requestId,
    functionName: msg.functionName,
    functionVersion: msg.functionVersion,
    memoryLimitInMB: msg.memoryLimitInMB,
    invokedFunctionArn: msg.invokedFunctionArn,
    logGroupName: msg.logGroupName,
    logStreamName: msg.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const event = msg.payload === "" ? {} : JSON.parse(msg.payload);
    const result = await runHandler(event, context);
    const payload = result === undefined ? "null" : JSON.stringify(result);
    flushMarkers();
    send({ type: "result", requestId: msg.requestId, payload: payload ?? "null" });
  } catch (e) {
    const error = errorPayload(e);
    const logged = {
      errorType: error.errorType,
      errorMessage: error.errorMessage,
      stack: error.trace,
    };
    process.stdout.write(
      `${new Date().toISOString()}\t${msg.requestId}\tERROR\tInvoke Error \t${JSON.stringify(logged)}\n`,
    );
    flushMarkers();
    send({ type: "error", requestId: msg.requestId, error });
  }
}

/** A crash outside the handler's promise chain ends the environment, as on Lambda. */
function crash(/** @type {string} */ errorType, /** @type {unknown} */ reason) {
  const base = errorPayload(reason);
  const error = { ...base, errorType };
  if (errorType === "Runtime.UnhandledPromiseRejection") {
    error.errorMessage = `${base.errorType}: ${base.errorMessage}`;
  }
  process.stdout.write(
    `${new Date().toISOString()}\t${currentRequestId}\tERROR\t${errorType} \t${JSON.stringify(error)}\n`,
  );
  flushMarkers();
  const done = () => process.exit(129);
  if (process.send)
    process.send({ type: "error", requestId: currentRequestId, error, fatal: true }, done);
  else done();
}
process.on("unhandledRejection", (reason) => crash("Runtime.UnhandledPromiseRejection", reason));
process.on("uncaughtException", (err) => crash(errorPayload(err).errorType, err));

process.on(
  "message",
  /** @param {{ type: string } & Record<string, unknown>} msg */ (msg) => {
    if (msg.type === "init") {
      const error = init();
      flushMarkers();
      send(error === undefined ? { type: "initialized" } : { type: "initError", error });
    } else if (msg.type === "invoke") {
      void invoke(/** @type {never} */ (msg));
    }
  },
);
// The parent going away ends the environment: no orphaned runtimes.
process.on("disconnect", () => process.exit(0));
