/**
 * The batch object's bytes in the form lib-storage's `Upload` sends without copying them.
 *
 * lib-storage cuts a Readable body into parts by collecting its chunks and copying them into
 * a new buffer per part (`Buffer.concat`): every byte copied once more, into a fresh
 * allocation whose pages fault in, and the churn of part-sized ArrayBuffers brings V8 a major
 * GC every 16 MiB or so. A Uint8Array body it cuts with `subarray`, one part at a time as its
 * workers ask for the next, and sends each view as it is. {@link GeneratedBody} is such a
 * body: a Uint8Array whose `byteLength` is the object's and whose `subarray(start, end)`
 * returns that part as a view of one of `slots` part buffers, taken back once the part is
 * released (its request settled, retries included) and handed out again for a later part.
 * Memory is `slots` part buffers whatever the object size; docs/architecture.md ("The batch
 * upload") has the measured CPU.
 *
 * Each part buffer is filled with random bytes (OpenSSL's CSPRNG) once, when it is allocated,
 * not again per part: the object is incompressible, and its content repeating every `slots`
 * parts changes nothing measured, since neither S3, TLS nor the local S3 server compresses or
 * deduplicates. Refilling would cost ≈ 20 ms of CPU per 100 MiB, a third of the upload's own.
 */
import { randomFillSync } from "node:crypto";

/**
 * Part buffers the last upload gave back ({@link GeneratedBody.close}), for the next upload
 * of the same part size: a warm invocation reuses them instead of faulting in fresh pages.
 */
let spare: Buffer<ArrayBuffer>[] = [];

/**
 * An object of `totalBytes` random bytes for lib-storage's `Upload`, cut into `partBytes`
 * parts (the last one smaller) by its `subarray` calls. Only lib-storage's access pattern is
 * supported: `subarray(start, end)` of one part at a time, at most `slots` parts not yet
 * released; anything else throws. Other Uint8Array methods see an empty array.
 */
export class GeneratedBody extends Uint8Array {
  readonly #totalBytes: number;
  readonly #partBytes: number;
  readonly #slots: number;
  /** Part buffers not in use, each `partBytes` long. */
  #free: Buffer<ArrayBuffer>[] = [];
  /** Part buffers in use, by their ArrayBuffer (what a part's view keeps). */
  readonly #inUse = new Map<ArrayBufferLike, Buffer<ArrayBuffer>>();
  /** Part buffers this body holds, free or in use (at most `slots`). */
  #owned = 0;
  #closed = false;

  constructor(totalBytes: number, partBytes: number, slots: number) {
    super(0);
    for (const [name, value] of [
      ["totalBytes", totalBytes],
      ["partBytes", partBytes],
      ["slots", slots],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
    this.#totalBytes = totalBytes;
    this.#partBytes = partBytes;
    this.#slots = slots;
    const bufferBytes = Math.min(partBytes, totalBytes);
    if (spare[0]?.length === bufferBytes) {
      this.#free = spare.splice(0, slots);
      this.#owned = this.#free.length;
    }
    spare = [];
    // lib-storage reads the body's size from byteLength; an own property shadows the getter.
    Object.defineProperty(this, "byteLength", { value: totalBytes, enumerable: false });
  }

  /** Part buffers this body holds, free or in use (at most `slots`). */
  get ownedBuffers(): number {
    return this.#owned;
  }

  /** Parts handed out and not yet released. */
  get partsInUse(): number {
    return this.#inUse.size;
  }

  /**
   * The part from `start` (a part boundary) to `end` (that part's end; default the object's
   * end), as a view of a free part buffer, which is in use until {@link release}.
   */
  override subarray(start = 0, end = this.#totalBytes): Buffer<ArrayBuffer> {
    if (!Number.isSafeInteger(start) || start < 0 || start >= this.#totalBytes) {
      throw new RangeError(
        `part start ${start} is outside the object of ${this.#totalBytes} bytes`,
      );
    }
    const partStart = start - (start % this.#partBytes);
    const partEnd = Math.min(partStart + this.#partBytes, this.#totalBytes);
    if (start !== partStart || end !== partEnd) {
      throw new RangeError(
        `subarray(${start}, ${end}) is not one part: parts are ${this.#partBytes} bytes, ` +
          `the one at ${partStart} ends at ${partEnd}`,
      );
    }
    const buffer = this.#take();
    const part = buffer.subarray(0, end - start);
    this.#inUse.set(buffer.buffer, buffer);
    return part;
  }

  /**
   * Gives back the buffer of a part from {@link subarray} once nothing reads it any more (its
   * request settled, retries included); a later part gets it. Anything else (another body's
   * part, a value that is no part) is ignored.
   */
  release(part: unknown): void {
    if (!ArrayBuffer.isView(part)) return;
    const buffer = this.#inUse.get(part.buffer);
    if (buffer === undefined) return;
    this.#inUse.delete(part.buffer);
    this.#free.push(buffer);
  }

  /**
   * Ends the upload's use of the body: its free part buffers are kept for the next upload
   * (parts still in use, whose requests may not have settled, are left to the GC).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    spare = this.#free;
    this.#free = [];
  }

  #take(): Buffer<ArrayBuffer> {
    if (this.#closed) throw new Error("the body was closed: its upload is over");
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#owned >= this.#slots) {
      throw new Error(
        `all ${this.#slots} part buffers are in use: a part was asked for before one was released`,
      );
    }
    this.#owned++;
    // Its own ArrayBuffer (not Node's shared pool), which identifies the part on release.
    return randomFillSync(Buffer.allocUnsafeSlow(Math.min(this.#partBytes, this.#totalBytes)));
  }
}
