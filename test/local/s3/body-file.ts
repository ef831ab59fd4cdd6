import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import * as fsp from "node:fs/promises";
import { type FileHandle, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { BodyFile, DIRECT_ALIGNMENT } from "../../../local/s3/body-file";
import { acquireSlot, releaseSlot, SLOT_BYTES, type Slot } from "../../../local/s3/slots";

const FINCORE = "/usr/bin/fincore";
const O_DIRECT = (constants as { O_DIRECT?: number }).O_DIRECT;

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "s3-body-file-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Why O_DIRECT cannot be used in `dir` (undefined when an O_DIRECT open works there). */
function directUnsupported(dir: string): string | undefined {
  if (O_DIRECT === undefined) return "this platform has no O_DIRECT";
  const probe = join(dir, "direct-probe");
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | O_DIRECT));
    return undefined;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === "EINVAL") {
      return `the file system of ${dir} refuses O_DIRECT (EINVAL)`;
    }
    throw e;
  } finally {
    if (existsSync(probe)) unlinkSync(probe);
  }
}

/**
 * Why the page cache residency of O_DIRECT writes says nothing in `dir` (undefined when it
 * does): fincore missing, or a file system that keeps even direct writes in memory (tmpfs takes
 * O_DIRECT opens since Linux 6.6).
 */
function residencyUnknown(dir: string): string | undefined {
  if (!existsSync(FINCORE)) return `${FINCORE} is missing`;
  const unsupported = directUnsupported(dir);
  if (unsupported !== undefined || O_DIRECT === undefined) return unsupported;
  const probe = join(dir, "residency-probe");
  const slot = acquireSlot();
  const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | O_DIRECT);
  try {
    writeSync(fd, slot.bytes, 0, 16 * DIRECT_ALIGNMENT, 0);
    const resident = residentBytes(probe);
    return resident === 0
      ? undefined
      : `the file system of ${dir} keeps O_DIRECT writes in memory (${resident} of 65536 bytes)`;
  } finally {
    closeSync(fd);
    unlinkSync(probe);
    releaseSlot(slot);
  }
}

/** Index of the first byte where the two differ (-1 when they are equal, lengths included). */
function firstDifference(actual: Buffer, expected: Buffer): number {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : n;
}

/** Bytes of `path` resident in the page cache, by util-linux fincore. */
function residentBytes(path: string): number {
  const out = execFileSync(FINCORE, ["--bytes", "--noheadings", "--output", "RES", path], {
    encoding: "utf8",
  });
  return Number(out.trim());
}

/** Descriptors of this process open on `path` (Linux /proc), e.g. to prove that none leaks. */
function openDescriptors(path: string): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === path || target === `${path} (deleted)`) count++;
    } catch {
      // The descriptor readdir itself used, closed by now.
    }
  }
  return count;
}

const hasProc = existsSync("/proc/self/fd");

/**
 * Writes `body` to `file` the way body.ts does: slot-sized pieces copied into slots, written at
 * their offsets, all in flight at once and issued in `order` (indexes of the pieces).
 */
async function writeInSlots(file: BodyFile, body: Buffer, order: number[]): Promise<void> {
  const pieces = Math.ceil(body.length / SLOT_BYTES);
  if ([...order].sort((a, b) => a - b).join() !== [...Array(pieces).keys()].join()) {
    throw new Error(`order ${order} is not a permutation of the ${pieces} pieces`);
  }
  const slots: Slot[] = [];
  try {
    const writes = order.map((i) => {
      const slot = acquireSlot();
      slots.push(slot);
      const piece = body.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES);
      piece.copy(slot.bytes);
      return file.write(slot.bytes.subarray(0, piece.length), i * SLOT_BYTES, true);
    });
    await Promise.all(writes);
  } finally {
    for (const slot of slots) releaseSlot(slot);
  }
}

t.test(
  "a body written in slots out of order, several at once, is stored byte for byte",
  async (t) => {
    const dir = await tempDir(t);
    const noDirect = directUnsupported(dir);
    const noResidency = residencyUnknown(dir);
    // Bodies with an unaligned tail in a piece of its own and inside a piece of whole blocks.
    const cases = [
      { size: 5 * SLOT_BYTES + 123, order: [5, 0, 3, 1, 4, 2] },
      { size: 2 * SLOT_BYTES + 2 * DIRECT_ALIGNMENT + 1808, order: [2, 1, 0] },
    ];
    for (const { size, order } of cases) {
      const body = randomBytes(size);
      const tailPages = Math.ceil((size % DIRECT_ALIGNMENT) / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
      const allPages = Math.ceil(size / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
      for (const direct of [true, false]) {
        const path = join(dir, `body-${size}-${direct}`);
        const file = await BodyFile.create(path, { direct, syncEveryBytes: 2 * SLOT_BYTES });
        await writeInSlots(file, body, order);
        const usedDirect = file.direct;
        await file.finish();

        // Residency first: reading the file back would bring it into the page cache.
        if (!direct) {
          t.equal(usedDirect, false, "direct: false never writes direct");
        } else if (noDirect === undefined) {
          t.equal(usedDirect, true, "aligned slot memory is written direct");
        }
        if (noResidency !== undefined) {
          t.pass("skipped", { skip: `page cache residency (${noResidency})` });
        } else if (direct) {
          const resident = residentBytes(path);
          t.ok(
            resident <= tailPages,
            `direct: ${resident} bytes in the page cache, at most the tail's ${tailPages}`,
          );
        } else {
          t.equal(residentBytes(path), allPages, "buffered: the whole file is in the page cache");
        }
        const stored = await readFile(path);
        t.equal(stored.length, size, `${size} bytes, direct ${direct}: the exact length`);
        t.equal(
          firstDifference(stored, body),
          -1,
          `${size} bytes, direct ${direct}: no byte differs`,
        );
        if (hasProc) t.equal(openDescriptors(path), 0, "finish() closed every descriptor");
      }
    }
  },
);

t.test("memory that is not page-aligned with direct: true still lands byte for byte", async (t) => {
  const dir = await tempDir(t);
  const noDirect = directUnsupported(dir);
  const length = 3 * DIRECT_ALIGNMENT + 100;
  const unaligned = Buffer.alloc(length + 1).subarray(1);
  randomBytes(length).copy(unaligned);

  // Would the kernel refuse this memory with O_DIRECT? Ask it with a write of our own.
  let refused = false;
  if (noDirect === undefined && O_DIRECT !== undefined) {
    const probe = join(dir, "unaligned-probe");
    const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | O_DIRECT);
    try {
      writeSync(fd, unaligned, 0, DIRECT_ALIGNMENT, 0);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
      refused = true;
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }
  }

  const path = join(dir, "unaligned");
  const file = await BodyFile.create(path, { direct: true, syncEveryBytes: 2 * SLOT_BYTES });
  t.equal(file.direct, noDirect === undefined, "direct once created where O_DIRECT opens");
  // Claimed aligned although it is not: the kernel's refusal is what is tested.
  await file.write(unaligned, 0, true);
  if (noDirect === undefined) {
    t.equal(file.direct, !refused, refused ? "a refused write ends direct" : "still direct");
  }
  // Aligned slot memory at an aligned offset after it, leaving a hole, still lands.
  const slot = acquireSlot();
  t.teardown(() => releaseSlot(slot));
  randomBytes(SLOT_BYTES).copy(slot.bytes);
  await file.write(slot.bytes, SLOT_BYTES, true);
  await file.finish();

  const expected = Buffer.alloc(2 * SLOT_BYTES);
  unaligned.copy(expected, 0);
  slot.bytes.copy(expected, SLOT_BYTES);
  const stored = await readFile(path);
  t.equal(stored.length, expected.length, "the exact length");
  t.equal(firstDifference(stored, expected), -1, "both writes, and zeros between them");
});

t.test(
  "aligned memory at an unaligned offset goes through the cache, direct stays on",
  async (t) => {
    const dir = await tempDir(t);
    const noDirect = directUnsupported(dir);
    const path = join(dir, "unaligned-offset");
    const file = await BodyFile.create(path, { direct: true, syncEveryBytes: 2 * SLOT_BYTES });
    const slot = acquireSlot();
    t.teardown(() => releaseSlot(slot));
    randomBytes(SLOT_BYTES).copy(slot.bytes);
    await file.write(slot.bytes.subarray(0, 3 * DIRECT_ALIGNMENT), 7, true);
    if (noDirect === undefined) t.equal(file.direct, true, "nothing was refused");
    else t.pass("skipped", { skip: `direct flag (${noDirect})` });
    await file.finish();
    const expected = Buffer.concat([Buffer.alloc(7), slot.bytes.subarray(0, 3 * DIRECT_ALIGNMENT)]);
    const stored = await readFile(path);
    t.equal(stored.length, expected.length, "the exact length");
    t.equal(firstDifference(stored, expected), -1, "no byte differs");
  },
);

/** What the file handles of a BodyFile loaded by tracingHandles were asked to do. */
interface HandleCalls {
  datasync: number;
  sync: number;
  /** write() calls not settled yet. */
  writesPending: number;
  /** writesPending at each sync() call. */
  pendingAtSync: number[];
  /** write() calls made after a sync() call. */
  writesAfterSync: number;
}

/** BodyFile with the calls on its file handles traced (and still made). */
function tracingHandles(t: Test): { BodyFile: typeof BodyFile; calls: HandleCalls } {
  const calls: HandleCalls = {
    datasync: 0,
    sync: 0,
    writesPending: 0,
    pendingAtSync: [],
    writesAfterSync: 0,
  };
  const open = async (...args: Parameters<typeof fsp.open>): Promise<FileHandle> => {
    const handle = await fsp.open(...args);
    const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
    const datasync = handle.datasync.bind(handle);
    const sync = handle.sync.bind(handle);
    handle.write = ((...a: unknown[]) => {
      if (calls.sync > 0) calls.writesAfterSync++;
      calls.writesPending++;
      const done = write(...a);
      const settled = () => {
        calls.writesPending--;
      };
      done.then(settled, settled);
      return done;
    }) as FileHandle["write"];
    handle.datasync = () => {
      calls.datasync++;
      return datasync();
    };
    handle.sync = () => {
      calls.sync++;
      calls.pendingAtSync.push(calls.writesPending);
      return sync();
    };
    return handle;
  };
  const mocked = t.mockRequire<typeof import("../../../local/s3/body-file")>(
    "../../../local/s3/body-file",
    { "node:fs/promises": { ...fsp, open } },
  );
  return { BodyFile: mocked.BodyFile, calls };
}

function resetCalls(calls: HandleCalls): void {
  calls.datasync = 0;
  calls.sync = 0;
  calls.writesPending = 0;
  calls.pendingAtSync = [];
  calls.writesAfterSync = 0;
}

t.test("buffered, many writes in flight when finish() is called: bytes intact", async (t) => {
  const dir = await tempDir(t);
  const counted = tracingHandles(t);
  // Pieces of uneven sizes, none aligned, issued all at once in a shuffled order.
  const sizes = Array.from({ length: 48 }, (_, i) => 20_000 + ((i * 7919) % 90_001));
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += size;
  }
  const body = randomBytes(total);
  const order = sizes.map((_, i) => (i * 29) % sizes.length);
  t.equal(new Set(order).size, sizes.length, "the order is a permutation");

  const every = 64 * 1024;
  for (const syncEveryBytes of [every, total + 1]) {
    const path = join(dir, `buffered-${syncEveryBytes}`);
    resetCalls(counted.calls);
    const file = await counted.BodyFile.create(path, { direct: false, syncEveryBytes });
    t.equal(file.direct, false);
    const writes = Promise.allSettled(
      order.map((i) => {
        const at = offsets[i] ?? 0;
        return file.write(Buffer.from(body.subarray(at, at + (sizes[i] ?? 0))), at, false);
      }),
    );
    // Not waiting for the writes: finish() does.
    await file.finish();
    t.same(
      new Set((await writes).map((w) => w.status)),
      new Set(["fulfilled"]),
      "every write completed",
    );
    const stored = await readFile(path);
    t.equal(stored.length, total, `syncEveryBytes ${syncEveryBytes}: the exact length`);
    t.equal(firstDifference(stored, body), -1, `syncEveryBytes ${syncEveryBytes}: no byte differs`);
    t.equal(counted.calls.sync, 1, "one fsync, by finish()");
    t.same(counted.calls.pendingAtSync, [0], "called once no write was pending");
    t.equal(counted.calls.writesAfterSync, 0, "and no write after it");
    if (syncEveryBytes === every) {
      // One writeback at a time, each after at least syncEveryBytes more: how many is timing.
      const most = Math.floor(total / every);
      t.ok(
        counted.calls.datasync >= 1 && counted.calls.datasync <= most,
        `${counted.calls.datasync} writebacks started while writing, between 1 and ${most}`,
      );
    } else {
      t.equal(counted.calls.datasync, 0, "no writeback before syncEveryBytes are written");
    }
  }
});

t.test("direct writes start no writeback; finish() with them in flight waits", async (t) => {
  const dir = await tempDir(t);
  const noDirect = directUnsupported(dir);
  const counted = tracingHandles(t);
  const path = join(dir, "direct-in-flight");
  const file = await counted.BodyFile.create(path, { direct: true, syncEveryBytes: 64 * 1024 });
  const slots = Array.from({ length: 4 }, () => acquireSlot());
  t.teardown(() => {
    for (const slot of slots) releaseSlot(slot);
  });
  const body = randomBytes(4 * SLOT_BYTES);
  const writes = Promise.allSettled(
    slots.map((slot, i) => {
      body.copy(slot.bytes, 0, i * SLOT_BYTES, (i + 1) * SLOT_BYTES);
      return file.write(slot.bytes, i * SLOT_BYTES, true);
    }),
  );
  await file.finish();
  t.same(
    (await writes).map((w) => w.status),
    ["fulfilled", "fulfilled", "fulfilled", "fulfilled"],
    "every write completed",
  );
  const stored = await readFile(path);
  t.equal(stored.length, body.length, "the exact length");
  t.equal(firstDifference(stored, body), -1, "no byte differs");
  t.equal(counted.calls.sync, 1, "one fsync, by finish()");
  t.same(counted.calls.pendingAtSync, [0], "called once no write was pending");
  t.equal(counted.calls.writesAfterSync, 0, "and no write after it");
  if (noDirect === undefined) {
    t.equal(counted.calls.datasync, 0, "4 MiB written direct, no writeback started");
  } else {
    t.pass("skipped", { skip: `writeback of direct writes (${noDirect})` });
  }
});

t.test("an empty body is an empty file; create() truncates an existing one", async (t) => {
  const dir = await tempDir(t);
  for (const direct of [true, false]) {
    const path = join(dir, `empty-${direct}`);
    const file = await BodyFile.create(path, { direct, syncEveryBytes: 64 * 1024 });
    await file.finish();
    t.equal((await stat(path)).size, 0, `direct ${direct}: 0 bytes`);

    const old = join(dir, `old-${direct}`);
    await writeFile(old, Buffer.alloc(3 * DIRECT_ALIGNMENT, 1));
    const again = await BodyFile.create(old, { direct, syncEveryBytes: 64 * 1024 });
    await again.write(Buffer.from("new"), 0, false);
    await again.finish();
    t.equal((await readFile(old)).toString("latin1"), "new", `direct ${direct}: only the new body`);
  }
});

t.test("create() in a missing directory rejects with ENOENT", async (t) => {
  const dir = await tempDir(t);
  for (const direct of [true, false]) {
    await t.rejects(
      BodyFile.create(join(dir, "missing", "body"), { direct, syncEveryBytes: 64 * 1024 }),
      { code: "ENOENT" },
      `direct ${direct}`,
    );
  }
});

t.test("discard() waits for the writes in flight, closes and removes the file", async (t) => {
  const dir = await tempDir(t);
  for (const direct of [true, false]) {
    const path = join(dir, `discarded-${direct}`);
    const file = await BodyFile.create(path, { direct, syncEveryBytes: 64 * 1024 });
    const slots = [acquireSlot(), acquireSlot(), acquireSlot()];
    t.teardown(() => {
      for (const slot of slots) releaseSlot(slot);
    });
    await file.write(slots[0]?.bytes ?? Buffer.alloc(0), 0, true);
    // Two more still in flight (not awaited) when discard() is called.
    const inFlight = [
      file.write(slots[1]?.bytes ?? Buffer.alloc(0), SLOT_BYTES, true),
      file.write((slots[2]?.bytes ?? Buffer.alloc(0)).subarray(0, 5000), 2 * SLOT_BYTES, true),
    ];
    await file.discard();
    t.equal(existsSync(path), false, `direct ${direct}: the file is gone`);
    const settled = await Promise.allSettled(inFlight);
    t.same(
      settled.map((s) => s.status),
      ["fulfilled", "fulfilled"],
      "the writes in flight completed before the file was closed",
    );
    if (hasProc) t.equal(openDescriptors(path), 0, "no descriptor left open on it");
  }
});

t.test("a failed write fails every later write and finish(), which still closes", async (t) => {
  const dir = await tempDir(t);
  // A position past the largest file the file system allows: EFBIG (ext4: 16 TiB, 4 KiB blocks).
  const tooFar = 2 ** 45;
  const probe = join(dir, "efbig-probe");
  let probeError: string | undefined;
  const fd = openSync(probe, "w");
  try {
    writeSync(fd, Buffer.alloc(DIRECT_ALIGNMENT), 0, DIRECT_ALIGNMENT, tooFar);
  } catch (e: unknown) {
    probeError = (e as NodeJS.ErrnoException).code;
  } finally {
    closeSync(fd);
    unlinkSync(probe);
  }
  if (probeError !== "EFBIG") {
    t.pass("skipped", {
      skip: `the file system of ${dir} takes a write at 32 TiB (${probeError ?? "no error"})`,
    });
    return;
  }
  const slot = acquireSlot();
  t.teardown(() => releaseSlot(slot));
  for (const direct of [true, false]) {
    const path = join(dir, `failed-${direct}`);
    const file = await BodyFile.create(path, { direct, syncEveryBytes: 64 * 1024 });
    await file.write(slot.bytes, 0, true);
    await t.rejects(file.write(slot.bytes, tooFar, true), { code: "EFBIG" }, `direct ${direct}`);
    await t.rejects(file.write(slot.bytes, SLOT_BYTES, true), { code: "EFBIG" }, "a later write");
    await t.rejects(file.finish(), { code: "EFBIG" }, "finish() reports the failure");
    if (hasProc) t.equal(openDescriptors(path), 0, "finish() closed the file anyway");
    t.equal((await stat(path)).size, SLOT_BYTES, "nothing was written after the failure");
    await file.discard();
    t.equal(existsSync(path), false, "discard() after the failure removes the file");
  }
});

t.test("a negative position and a write after finish() are refused", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "refused");
  const file = await BodyFile.create(path, { direct: false, syncEveryBytes: 64 * 1024 });
  await t.rejects(
    file.write(Buffer.from("x"), -4096, false),
    new RangeError("write position -4096 is not a byte offset"),
    "negative position",
  );
  await file.write(Buffer.from("kept"), 0, false);
  await file.finish();
  await t.rejects(
    file.write(Buffer.from("late"), 0, false),
    new Error(`${path} is already finished`),
    "a write after finish()",
  );
  t.equal(await readFile(path, "utf8"), "kept", "the finished file is unchanged");
});

t.test("memory not marked aligned goes through the page cache, direct stays on", async (t) => {
  const dir = await tempDir(t);
  const noResidency = residencyUnknown(dir);
  const path = join(dir, "not-aligned-flag");
  const file = await BodyFile.create(path, { direct: true, syncEveryBytes: 64 * SLOT_BYTES });
  const slot = acquireSlot();
  t.teardown(() => releaseSlot(slot));
  randomBytes(SLOT_BYTES).copy(slot.bytes);
  await file.write(slot.bytes, 0, false);
  const stillDirect = file.direct;
  await file.finish();
  if (noResidency === undefined) {
    t.equal(stillDirect, true, "nothing was refused");
    t.equal(residentBytes(path), SLOT_BYTES, "the whole slot went through the page cache");
  } else {
    t.pass("skipped", { skip: `page cache residency (${noResidency})` });
  }
  t.equal(firstDifference(await readFile(path), slot.bytes), -1, "the bytes landed");
});
