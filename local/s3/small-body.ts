/** Reads a small request body (an XML document) into memory. */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors";
import type { SignedRequest } from "./sigv4";

/**
 * Reads a small request body (XML documents) into memory, up to `limit` bytes, checking the
 * signed payload hash when the request carries one.
 */
export async function readSmallBody(
  req: IncomingMessage,
  limit: number,
  signed?: SignedRequest,
): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new S3Error("MalformedXML", "The XML document is too large");
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, length);
  const payloadHash = signed?.payloadHash ?? "";
  if (
    /^[0-9a-f]{64}$/.test(payloadHash) &&
    createHash("sha256").update(body).digest("hex") !== payloadHash
  ) {
    throw new S3Error(
      "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  return body.toString("utf8");
}
