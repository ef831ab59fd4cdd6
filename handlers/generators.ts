/**
 * Generated data: the events workload's NDJSON events of an exact size, and incompressible
 * random bytes into reusable buffers (`fillRandom`, `randomStream`: the file bench:upload gives
 * `aws s3 cp`). The batch object's bytes are handlers/part-body.ts.
 */
import { randomBytes, randomFill, randomUUID } from "node:crypto";

/** The `source` field of every generated event. */
export const EVENT_SOURCE = "s3-ingestion-experiment";

/** An event's fields before padding: `data` grows until the line reaches its size. */
interface EventFields {
  readonly timestamp: string;
  readonly event_id: string;
  readonly source: string;
  readonly data: string;
}

/**
 * One NDJSON line of exactly `lineBytes` bytes, the trailing "\n" included: a JSON object
 * with `timestamp` (ISO 8601), `event_id` (UUID), `source` and `data`, where `data` is
 * random base64url padding (ASCII, so characters and bytes agree). Counting the newline
 * inside the event size makes an object of N events exactly N × EVENT_BYTES bytes, the
 * `object_bytes` the EMF line reports.
 */
export function eventLine(lineBytes: number, now: Date = new Date()): string {
  const fields: EventFields = {
    timestamp: now.toISOString(),
    event_id: randomUUID(),
    source: EVENT_SOURCE,
    data: "",
  };
  const padding = lineBytes - (JSON.stringify(fields).length + 1);
  if (padding < 0) {
    throw new RangeError(`an event needs at least ${lineBytes - padding} bytes, got ${lineBytes}`);
  }
  const data = randomBytes(Math.ceil((padding * 3) / 4) + 3)
    .toString("base64url")
    .slice(0, padding);
  return `${JSON.stringify({ ...fields, data })}\n`;
}

/** The events object: `count` lines of {@link eventLine}, exactly `count × eventBytes` bytes. */
export function eventsPayload(count: number, eventBytes: number, now: Date = new Date()): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(eventLine(eventBytes, now));
  return Buffer.from(lines.join(""), "ascii");
}

/**
 * Slice size for {@link fillRandom}: big enough to amortise the thread-pool hop, small enough
 * that several slices spread over the libuv pool's threads.
 */
export const FILL_SLICE_BYTES = 4 * 1024 * 1024;

function randomFillAsync(target: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    randomFill(target, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Overwrites `target` with incompressible bytes (OpenSSL's CSPRNG, AES-CTR based and
 * hardware accelerated, several GB/s), in place so buffers are reused rather than
 * reallocated. Slices run on the libuv thread pool, off the event loop that drives the
 * uploads' sockets.
 */
export async function fillRandom(target: Buffer): Promise<void> {
  const slices: Promise<void>[] = [];
  for (let off = 0; off < target.length; off += FILL_SLICE_BYTES) {
    slices.push(
      randomFillAsync(target.subarray(off, Math.min(off + FILL_SLICE_BYTES, target.length))),
    );
  }
  await Promise.all(slices);
}

/** One part of a multipart plan: S3 part numbers start at 1. */
export interface PartSpec {
  readonly partNumber: number;
  readonly bytes: number;
}

/**
 * The parts of an object of `objectBytes` in `partBytes` parts, the last one possibly
 * smaller. A generator so that several upload workers can pull from one shared plan.
 */
export function* partPlan(objectBytes: number, partBytes: number): Generator<PartSpec> {
  let partNumber = 1;
  for (let off = 0; off < objectBytes; off += partBytes) {
    yield { partNumber, bytes: Math.min(partBytes, objectBytes - off) };
    partNumber++;
  }
}

/**
 * A stream of `totalBytes` incompressible bytes in chunks of at most `chunkBytes`, all
 * written into ONE reused buffer: memory stays at one chunk whatever the total. Each yielded
 * buffer is valid until the next one is requested (consume it, or copy it, first).
 */
export async function* randomStream(
  totalBytes: number,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(Math.min(chunkBytes, totalBytes));
  for (const part of partPlan(totalBytes, chunkBytes)) {
    const view = buffer.subarray(0, part.bytes);
    await fillRandom(view);
    yield view;
  }
}
