/**
 * The error answer of a request: S3 error XML, sent once what is left of the request body has
 * been read (so that the answer is not lost to a TCP reset), on a connection that is still open.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorXml, type S3Error } from "./errors";

/** Unread request body the server reads and discards before an error response. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads and discards what is left of a request body (up to {@link DRAIN_LIMIT}), so that the
 * error response is not lost to a TCP reset: closing a socket with unread data resets it.
 * Resolves true when the body was read to its end.
 */
function drain(req: IncomingMessage): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  // A request that announces no body has nothing to wait for (its `complete` may not be set yet).
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) {
    return Promise.resolve(true);
  }
  // A request whose stream was destroyed emits nothing more: waiting would never end.
  if (req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let read = 0;
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > DRAIN_LIMIT) finish(false);
    };
    const finish = (complete: boolean): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onError);
      resolve(complete);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(req.complete);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onError);
    req.resume();
  });
}

/**
 * Writes an error response; `bodyWithheld`: the client waits for 100 Continue, so its body is
 * not read. `connection` is the request's socket as it arrived (a request destroyed while its
 * body was read has `socket` null).
 */
export async function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  connection: Socket,
  error: S3Error,
  requestId: string,
  bodyWithheld: boolean,
): Promise<void> {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const complete = bodyWithheld ? false : await drain(req);
  // Only a closed connection goes unanswered. `res.socket` is no test of that: it is null while
  // an earlier response on the same keep-alive connection is unfinished (node queues this one
  // and sends it after that one), e.g. a GET whose body was all sent but whose file stream has
  // not closed yet when the client's next request arrives.
  if (res.destroyed || connection.destroyed) return;
  const body =
    req.method === "HEAD" ? "" : errorXml(error.code, error.message, requestId, error.details);
  const headers: Record<string, string | number> = {
    "Content-Type": "application/xml",
    "Content-Length": Buffer.byteLength(body),
  };
  for (const [name, value] of Object.entries(error.details)) {
    if (name === "ActualObjectSize") headers["Content-Range"] = `bytes */${value}`;
  }
  // A body not read to its end would otherwise be parsed as the next request.
  if (!complete) headers.Connection = "close";
  res.writeHead(error.status, headers);
  res.end(body);
}

/**
 * What an unexpected error was, for the log: a system call's error (ENOSPC, EIO, …) in one line,
 * its message naming the code and the call, since its stack says nothing more; anything else,
 * a defect of ours, with its stack.
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const { code, syscall } = e as NodeJS.ErrnoException;
  if (code !== undefined && syscall !== undefined) {
    return e.message.startsWith(code) ? e.message : `${code}: ${e.message}`;
  }
  return `${code === undefined ? "" : `${code}: `}${e.stack ?? e.message}`;
}
