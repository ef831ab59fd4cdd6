import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, existsSync, openSync, unlinkSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import t, { type Test } from "tap";
import {
  acquireSlot,
  MAX_POOLED_SLOTS,
  releaseSlot,
  SLOT_BYTES,
  type Slot,
  slotCounts,
} from "../../../local/s3/slots";

/** Slots per shared memory in slots.ts. */
const SLOTS_PER_MEMORY = 16;

/** Acquires slots for one test, all released when it ends (so that each test starts level). */
function slotsFor(t: Test): (n: number) => Slot[] {
  const held: Slot[] = [];
  t.teardown(() => {
    for (const slot of held.reverse()) releaseSlot(slot);
  });
  return (n) => {
    const got = Array.from({ length: n }, () => acquireSlot());
    held.push(...got);
    return got;
  };
}

t.test("slots are SLOT_BYTES views of shared memory that do not overlap", async (t) => {
  const take = slotsFor(t);
  const [a, b] = take(2);
  if (a === undefined || b === undefined) throw new Error("two slots");
  t.equal(SLOT_BYTES, 1024 * 1024);
  for (const slot of [a, b]) {
    t.equal(slot.bytes.length, SLOT_BYTES, "SLOT_BYTES long");
    t.ok(slot.memory instanceof SharedArrayBuffer, "in shared memory");
    t.equal(slot.bytes.buffer, slot.memory, "a view of that memory");
    t.equal(slot.bytes.byteOffset, slot.offset, "at its offset");
    t.equal(slot.offset % 4096, 0, "at a page boundary of the memory");
  }
  t.not(a.bytes, b.bytes, "two slots");
  a.bytes.fill(0xaa);
  b.bytes.fill(0x55);
  t.equal(a.bytes.indexOf(0x55), -1, "filling the second left the first alone");
  t.equal(b.bytes.indexOf(0xaa), -1, "and the first is not in the second");
  t.equal(a.bytes[SLOT_BYTES - 1], 0xaa, "the first one's last byte is its own");
});

t.test("a released slot is the next one handed out (last freed, first taken)", async (t) => {
  const start = slotCounts();
  const x = acquireSlot();
  const y = acquireSlot();
  t.equal(slotCounts().inUse, start.inUse + 2, "two more in use");
  releaseSlot(x);
  releaseSlot(y);
  t.equal(slotCounts().inUse, start.inUse, "none after releasing both");
  t.equal(acquireSlot(), y, "the last released comes back first");
  t.equal(acquireSlot(), x, "then the one released before it");
  t.equal(slotCounts().inUse, start.inUse + 2);
  releaseSlot(y);
  releaseSlot(x);
  t.same(slotCounts(), start, "the counts are back where they were");
});

t.test("counts move by one per slot; a new memory of 16 slots when none is free", async (t) => {
  const take = (n: number): Slot[] => Array.from({ length: n }, () => acquireSlot());
  const start = slotCounts();
  const free = start.created - start.inUse;
  // Take every free slot: no memory is added for them.
  const before = take(free);
  t.same(
    slotCounts(),
    { created: start.created, inUse: start.created, overflowInUse: 0 },
    "all free slots in use",
  );
  // One more: a new memory, of which one slot is in use.
  const [first] = take(1);
  t.same(
    slotCounts(),
    { created: start.created + SLOTS_PER_MEMORY, inUse: start.created + 1, overflowInUse: 0 },
    "created grows by 16",
  );
  const rest = take(SLOTS_PER_MEMORY - 1);
  t.same(
    slotCounts(),
    {
      created: start.created + SLOTS_PER_MEMORY,
      inUse: start.created + SLOTS_PER_MEMORY,
      overflowInUse: 0,
    },
    "the new memory's 16 slots in use, none added",
  );
  const fresh = [first, ...rest];
  const memory = first?.memory;
  t.ok(
    fresh.every((s) => s?.memory === memory),
    "the 16 slots share one memory",
  );
  t.notOk(
    before.some((s) => s.memory === memory),
    "a memory no earlier slot is in",
  );
  t.same(
    fresh.map((s) => s?.offset).sort((p, q) => (p ?? 0) - (q ?? 0)),
    Array.from({ length: SLOTS_PER_MEMORY }, (_, i) => i * SLOT_BYTES),
    "which it divides into 16 slots end to end",
  );
  const [last] = take(1);
  t.equal(slotCounts().created, start.created + 2 * SLOTS_PER_MEMORY, "the 17th adds another");
  t.not(last?.memory, memory, "in a memory of its own");
  for (const slot of [...before, ...fresh, last]) if (slot !== undefined) releaseSlot(slot);
  t.same(
    slotCounts(),
    { created: start.created + 2 * SLOTS_PER_MEMORY, inUse: start.inUse, overflowInUse: 0 },
    "released, the slots stay in existence",
  );
});

t.test("every slot of a memory can be written to disk with O_DIRECT", async (t) => {
  const oDirect = (constants as { O_DIRECT?: number }).O_DIRECT;
  if (oDirect === undefined) {
    t.pass("skipped", { skip: "this platform has no O_DIRECT" });
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "s3-slots-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "direct");
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | oDirect);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
    t.pass("skipped", { skip: `the file system of ${dir} refuses O_DIRECT` });
    return;
  }
  try {
    // O_DIRECT refuses memory that is not block-aligned (EINVAL): it takes each slot.
    const slots = slotsFor(t)(SLOTS_PER_MEMORY);
    const written = slots.map((slot, i) => writeSync(fd, slot.bytes, 0, 4096, i * 4096));
    t.same(written, Array(SLOTS_PER_MEMORY).fill(4096), "4096 bytes from each slot");
  } finally {
    closeSync(fd);
    if (existsSync(path)) unlinkSync(path);
  }
});

t.test("a worker thread reads the slot where it lies, no copy", async (t) => {
  const [slot] = slotsFor(t)(1);
  if (slot === undefined) throw new Error("a slot");
  const length = SLOT_BYTES - 5;
  randomBytes(length).copy(slot.bytes);
  const expected = createHash("sha256").update(slot.bytes.subarray(0, length)).digest("hex");
  // The worker hashes what it sees, then writes into the slot: the main thread must see that.
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { createHash } = require("node:crypto");
    const { memory, offset, length } = workerData;
    const view = Buffer.from(memory, offset, length);
    const sha256 = createHash("sha256").update(view).digest("hex");
    view.write("from the worker", 0, "latin1");
    parentPort.postMessage(sha256);
  `;
  const worker = new Worker(source, {
    eval: true,
    execArgv: [],
    workerData: { memory: slot.memory, offset: slot.offset, length },
  });
  const sha256 = await new Promise<string>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
  await worker.terminate();
  t.equal(sha256, expected, "the worker hashed the bytes the main thread wrote");
  t.equal(
    slot.bytes.subarray(0, 15).toString("latin1"),
    "from the worker",
    "and its write is in the main thread's slot",
  );
});

t.test(
  "beyond MAX_POOLED_SLOTS a slot is shared memory of its own, dropped on release",
  async (t) => {
    const start = slotCounts();
    const pooled = Array.from({ length: MAX_POOLED_SLOTS - start.inUse }, () => acquireSlot());
    t.same(
      slotCounts(),
      { created: MAX_POOLED_SLOTS, inUse: MAX_POOLED_SLOTS, overflowInUse: 0 },
      "the pool is full and all of it in use",
    );
    t.ok(
      pooled.every((s) => s.pooled),
      "every slot so far is pooled",
    );
    const extra = [acquireSlot(), acquireSlot()];
    t.same(
      slotCounts(),
      { created: MAX_POOLED_SLOTS, inUse: MAX_POOLED_SLOTS, overflowInUse: 2 },
      "no memory added to the pool; two slots of their own",
    );
    for (const slot of extra) {
      t.equal(slot.pooled, false, "not pooled");
      t.ok(slot.memory instanceof SharedArrayBuffer, "still shared memory");
      t.equal(slot.memory.byteLength, SLOT_BYTES, "a memory of exactly one slot");
      t.equal(slot.bytes.length, SLOT_BYTES, "SLOT_BYTES long");
    }
    t.not(extra[0]?.memory, extra[1]?.memory, "each in its own memory");
    for (const slot of extra) releaseSlot(slot);
    t.equal(slotCounts().overflowInUse, 0, "released");
    const again = acquireSlot();
    t.equal(again.pooled, false, "the pool is still full: the next one is its own again");
    t.not(again.memory, extra[0]?.memory, "a released slot of its own is not reused");
    releaseSlot(again);
    for (const slot of pooled) releaseSlot(slot);
    t.same(
      slotCounts(),
      { created: MAX_POOLED_SLOTS, inUse: start.inUse, overflowInUse: 0 },
      "all back",
    );
  },
);
