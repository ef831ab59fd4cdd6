import { gzipSync } from "node:zlib";
import t from "tap";
import { GeneratedBody } from "../../handlers/part-body";

const MIB = 1024 * 1024;

/** The parts lib-storage asks a Uint8Array body for: full parts, then the rest to the end. */
function partsOf(body: GeneratedBody, partBytes: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  while (start + partBytes < body.byteLength) {
    const part = body.subarray(start, start + partBytes);
    parts.push(Buffer.from(part));
    body.release(part);
    start += partBytes;
  }
  const last = body.subarray(start);
  parts.push(Buffer.from(last));
  body.release(last);
  return parts;
}

t.test("a Uint8Array of the object's byteLength, cut into exact parts", async (t) => {
  const total = 10 * MIB + 123;
  const body = new GeneratedBody(total, 4 * MIB, 2);
  t.ok(body instanceof Uint8Array, "lib-storage takes it for a Uint8Array");
  t.equal(body.byteLength, total, "byteLength is the object's size");
  t.equal(body.length, 0, "it holds no bytes itself");
  const parts = partsOf(body, 4 * MIB);
  t.same(
    parts.map((p) => p.length),
    [4 * MIB, 4 * MIB, 2 * MIB + 123],
    "full parts, then the rest",
  );
  t.ok(gzipSync(parts[0] ?? Buffer.alloc(0)).length > 4 * MIB * 0.99, "a part does not compress");
  t.equal(body.ownedBuffers, 1, "released after each part: one part buffer was enough");
  body.close();
});

t.test("parts are views of at most `slots` buffers, handed out again once released", async (t) => {
  const body = new GeneratedBody(40 * MIB, 8 * MIB, 2);
  const first = body.subarray(0, 8 * MIB);
  const second = body.subarray(8 * MIB, 16 * MIB);
  t.equal(first.byteOffset, 0, "a view from the start of its buffer, not a copy");
  t.equal(first.buffer.byteLength, 8 * MIB, "the buffer is one part");
  t.not(first.buffer, second.buffer, "parts in use have their own buffers");
  t.equal(body.partsInUse, 2, "two parts in use");
  t.throws(
    () => body.subarray(16 * MIB, 24 * MIB),
    { message: "all 2 part buffers are in use: a part was asked for before one was released" },
    "a third part in use at once is refused",
  );
  body.release(Buffer.alloc(8));
  body.release("part 1");
  t.equal(body.partsInUse, 2, "anything that is not one of its parts is ignored");
  body.release(second);
  const third = body.subarray(16 * MIB, 24 * MIB);
  t.equal(third.buffer, second.buffer, "the released buffer is handed out again");
  t.equal(body.ownedBuffers, 2, "no buffer beyond the two slots");
  body.close();
});

t.test("only whole parts can be asked for", async (t) => {
  const body = new GeneratedBody(20 * MIB, 8 * MIB, 4);
  t.throws(() => body.subarray(MIB, 9 * MIB), {
    name: "RangeError",
    message: `subarray(${MIB}, ${9 * MIB}) is not one part: parts are ${8 * MIB} bytes, the one at 0 ends at ${8 * MIB}`,
  });
  t.throws(() => body.subarray(0, 4 * MIB), {
    message: `subarray(0, ${4 * MIB}) is not one part: parts are ${8 * MIB} bytes, the one at 0 ends at ${8 * MIB}`,
  });
  t.throws(() => body.subarray(8 * MIB), {
    message: `subarray(${8 * MIB}, ${20 * MIB}) is not one part: parts are ${8 * MIB} bytes, the one at ${8 * MIB} ends at ${16 * MIB}`,
  });
  t.throws(() => body.subarray(20 * MIB, 20 * MIB), {
    message: `part start ${20 * MIB} is outside the object of ${20 * MIB} bytes`,
  });
  t.equal(body.subarray(16 * MIB).length, 4 * MIB, "the last part runs to the end");
  body.close();
});

t.test("a closed body keeps its free buffers for the next one of the same size", async (t) => {
  const a = new GeneratedBody(24 * MIB, 8 * MIB, 2);
  const p1 = a.subarray(0, 8 * MIB);
  const p2 = a.subarray(8 * MIB, 16 * MIB);
  a.release(p1);
  a.close();
  t.throws(() => a.subarray(16 * MIB), { message: "the body was closed: its upload is over" });
  const b = new GeneratedBody(16 * MIB, 8 * MIB, 2);
  t.equal(b.ownedBuffers, 1, "the next body starts with the one buffer that was free");
  const q1 = b.subarray(0, 8 * MIB);
  const q2 = b.subarray(8 * MIB);
  t.equal(q1.buffer, p1.buffer, "and hands it out first");
  t.not(q2.buffer, p2.buffer, "a part still in use at close was not kept");
  b.release(q1);
  b.release(q2);
  b.close();
  const c = new GeneratedBody(12 * MIB, 6 * MIB, 2);
  t.equal(c.ownedBuffers, 0, "buffers of another part size are not reused");
  c.close();
});

t.test("sizes must be positive integers", async (t) => {
  t.throws(() => new GeneratedBody(0, MIB, 1), {
    name: "RangeError",
    message: "totalBytes must be a positive integer, got 0",
  });
  t.throws(() => new GeneratedBody(MIB, 1.5, 1), {
    message: "partBytes must be a positive integer, got 1.5",
  });
  t.throws(() => new GeneratedBody(MIB, MIB, 0), {
    message: "slots must be a positive integer, got 0",
  });
});
