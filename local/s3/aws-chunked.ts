/**
 * A push decoder of aws-chunked request bodies: signed STREAMING-AWS4-HMAC-SHA256-PAYLOAD chunks
 * (each chunk signature verified, chained from the request's signature) and unsigned ones with
 * trailing headers (x-amz-checksum-*). Synchronous, so that a body's receive loop hands every
 * socket read straight through without a promise per chunk.
 */
import { createHash, type Hash } from "node:crypto";
import { S3Error } from "./errors";
import { chunkSignature, type SignedRequest } from "./sigv4";

/** Longest chunk-header or trailer line accepted. */
const LINE_LIMIT = 8 * 1024;

type State = "header" | "data" | "crlf" | "trailer" | "done";

export class AwsChunkedDecoder {
  private state: State = "header";
  /** Data bytes left in the current chunk. */
  private remaining = 0;
  /** The pieces of a line that spans socket reads. */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private chunkSig = "";
  private previousSig: string;
  private chunkHash: Hash | undefined;
  private readonly signedChunks: boolean;

  /**
   * A chunk's data reaches the sink before the chunk's signature is checked (it is checked at
   * the chunk's end): when push() throws, everything the sink got must be thrown away.
   *
   * @param trailers receives the trailing headers, lower-case names.
   * @param signed the verified request: with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD payload hash,
   *   every chunk must carry a valid chunk-signature.
   */
  constructor(
    private readonly trailers: Map<string, string>,
    private readonly signed: SignedRequest | undefined,
  ) {
    this.previousSig = signed?.signature ?? "";
    this.signedChunks =
      signed?.payloadHash.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") ?? false;
  }

  /** Decodes one piece of the encoded body; `sink` gets each run of decoded data, in order. */
  push(piece: Buffer, sink: (data: Buffer) => void): void {
    let off = 0;
    while (off < piece.length) {
      if (this.state === "done") {
        throw new S3Error("IncompleteBody", "Data after the end of an aws-chunked body");
      }
      if (this.state === "data") {
        const n = Math.min(this.remaining, piece.length - off);
        const slice = piece.subarray(off, off + n);
        this.chunkHash?.update(slice);
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = "crlf";
        sink(slice);
        continue;
      }
      const nl = piece.indexOf(10, off);
      const end = nl < 0 ? piece.length : nl;
      this.pending.push(piece.subarray(off, end));
      this.pendingLength += end - off;
      if (this.pendingLength > LINE_LIMIT) {
        throw new S3Error("IncompleteBody", "aws-chunked line too long");
      }
      if (nl < 0) return;
      off = nl + 1;
      this.onLine(this.takeLine());
    }
  }

  /** The encoded body ended: throws IncompleteBody unless the last chunk was seen. */
  end(): void {
    // The final CRLF after the last chunk or trailer is optional in practice, so a trailer
    // line the body ends in still counts.
    if (this.state === "trailer" && this.pendingLength > 0) this.onLine(this.takeLine());
    if (this.state !== "done" && this.state !== "trailer") {
      throw new S3Error(
        "IncompleteBody",
        "The request body ended before the last aws-chunked chunk",
      );
    }
  }

  /** The line gathered in `pending`, without its CR. */
  private takeLine(): string {
    const line = Buffer.concat(this.pending, this.pendingLength).toString("latin1");
    this.pending = [];
    this.pendingLength = 0;
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  }

  private verifyChunk(): void {
    if (this.signed === undefined || this.chunkHash === undefined) return;
    const want = chunkSignature(this.signed, this.previousSig, this.chunkHash.digest("hex"));
    if (want !== this.chunkSig) {
      throw new S3Error("SignatureDoesNotMatch", "The chunk signature does not match");
    }
    this.previousSig = want;
    this.chunkHash = undefined;
  }

  private onLine(line: string): void {
    switch (this.state) {
      case "header": {
        const semi = line.indexOf(";");
        const sizeText = semi < 0 ? line : line.slice(0, semi);
        const size = /^[0-9a-fA-F]+$/.test(sizeText) ? Number.parseInt(sizeText, 16) : Number.NaN;
        if (!Number.isSafeInteger(size)) {
          throw new S3Error("IncompleteBody", "Malformed aws-chunked chunk header");
        }
        if (this.signedChunks) {
          const sig = /chunk-signature=([0-9a-f]{64})/.exec(line)?.[1];
          if (sig === undefined) {
            throw new S3Error("SignatureDoesNotMatch", "Missing chunk signature");
          }
          this.chunkSig = sig;
          this.chunkHash = createHash("sha256");
        }
        if (size === 0) {
          this.verifyChunk();
          this.state = "trailer";
        } else {
          this.remaining = size;
          this.state = "data";
        }
        return;
      }
      case "crlf":
        if (line !== "") throw new S3Error("IncompleteBody", "Malformed aws-chunked chunk end");
        this.verifyChunk();
        this.state = "header";
        return;
      case "trailer": {
        if (line === "") {
          this.state = "done";
          return;
        }
        const colon = line.indexOf(":");
        if (colon > 0) {
          this.trailers.set(
            line.slice(0, colon).trim().toLowerCase(),
            line.slice(colon + 1).trim(),
          );
        }
        return;
      }
      default:
        return;
    }
  }
}
