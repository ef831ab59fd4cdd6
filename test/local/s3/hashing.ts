import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import t from "tap";
import { createChecksum } from "../../../local/s3/checksums";
import {
  acquireHashPool,
  type BodyHasher,
  createBodyHasher,
  releaseHashPool,
  WORKER_THRESHOLD,
} from "../../../local/s3/hashing";
import { acquireSlot, releaseSlot, SLOT_BYTES, type Slot } from "../../../local/s3/slots";

acquireHashPool();
t.teardown(() => releaseHashPool());

/** The digests node computes itself, as the hasher reports them. */
function expectedDigests(data: Buffer): { md5: string; sha256: string; checksum: string } {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  return {
    md5: createHash("md5").update(data).digest("hex"),
    sha256: createHash("sha256").update(data).digest("hex"),
    checksum: crc.toString("base64"),
  };
}

/** Feeds `data` slot by slot, the way body.ts does, and returns the hasher's digests. */
async function hashInSlots(hasher: BodyHasher, data: Buffer) {
  const slots: Slot[] = [];
  try {
    const reads: Array<Promise<void> | undefined> = [];
    for (let off = 0; off < data.length; off += SLOT_BYTES) {
      const slot = acquireSlot();
      slots.push(slot);
      const n = data.copy(slot.bytes, 0, off, off + SLOT_BYTES);
      reads.push(hasher.update(slot, n));
    }
    await Promise.all(reads);
    const d = await hasher.finish();
    return { md5: d.md5.toString("hex"), sha256: d.sha256, checksum: d.checksum };
  } finally {
    for (const slot of slots) releaseSlot(slot);
  }
}

t.test(
  "worker and inline hashers compute MD5, SHA-256 and CRC32 exactly as node does",
  async (t) => {
    for (const size of [3 * SLOT_BYTES + 12345, WORKER_THRESHOLD - 1, 0]) {
      const data = randomBytes(size);
      const hasher = createBodyHasher({ sha256: true, checksum: "crc32" }, size);
      t.same(await hashInSlots(hasher, data), expectedDigests(data), `${size} bytes`);
    }
  },
);

t.test(
  "the worker's CRC32C, CRC64NVME and SHA-1 equal the inline checksums (themselves checked against their check values)",
  async (t) => {
    const check = createChecksum("crc64nvme");
    check.update(Buffer.from("123456789"));
    t.equal(
      Buffer.from(check.digestBase64() ?? "", "base64").toString("hex"),
      "ae8b14860a799888",
      "inline CRC64NVME of 123456789 is the published check value",
    );
    const c32c = createChecksum("crc32c");
    c32c.update(Buffer.from("123456789"));
    t.equal(
      Buffer.from(c32c.digestBase64() ?? "", "base64").toString("hex"),
      "e3069283",
      "inline CRC32C of 123456789 is the published check value",
    );
    const size = 2 * SLOT_BYTES + 777;
    const data = randomBytes(size);
    for (const algorithm of ["crc32c", "crc64nvme", "sha1"] as const) {
      const inline = createChecksum(algorithm);
      inline.update(data);
      const hasher = createBodyHasher({ sha256: false, checksum: algorithm }, size);
      t.equal((await hashInSlots(hasher, data)).checksum, inline.digestBase64(), algorithm);
    }
  },
);

t.test("a hashing thread that dies fails its body and is replaced for the next", async (t) => {
  const doomed = createBodyHasher({ sha256: false }, 2 * SLOT_BYTES);
  // A slot whose memory is not shared memory: the thread throws reading it, and exits.
  const broken = { memory: undefined, offset: 0, bytes: Buffer.alloc(16), pooled: false };
  await t.rejects(
    doomed.update(broken as unknown as Slot, 16) ?? Promise.resolve(),
    "the body's pending read fails instead of waiting forever",
  );
  await t.rejects(doomed.finish(), "and so does its finish()");
  doomed.cancel();

  const data = randomBytes(2 * SLOT_BYTES + 5);
  const next = createBodyHasher({ sha256: true, checksum: "crc32" }, data.length);
  t.same(await hashInSlots(next, data), expectedDigests(data), "the next body hashes correctly");
});
