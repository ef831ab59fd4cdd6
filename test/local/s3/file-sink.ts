import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import t, { type Test } from "tap";
import { FileSink } from "../../../local/s3/file-sink";

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "file-sink-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test(
  "a body streamed through several background writebacks is stored byte for byte",
  async (t) => {
    const dir = await tempDir(t);
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const chunks: Buffer[] = [];
    for (let off = 0; off < data.length; off += 64 * 1024)
      chunks.push(data.subarray(off, off + 64 * 1024));
    const path = join(dir, "body");
    // A writeback every 256 KiB: many of them overlap the writes that follow.
    await pipeline(
      Readable.from(chunks),
      new FileSink(path, {
        syncEveryBytes: 256 * 1024,
        highWaterMark: 1024 * 1024,
        minWriteBytes: 200 * 1024,
      }),
    );
    const stored = await readFile(path);
    t.equal(stored.length, data.length, "exact size on disk");
    t.ok(stored.equals(data), "same bytes on disk");
  },
);

t.test("an empty stream leaves an empty file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "empty");
  await pipeline(
    Readable.from([]),
    new FileSink(path, { syncEveryBytes: 1, highWaterMark: 1024, minWriteBytes: 1 }),
  );
  t.equal((await readFile(path)).length, 0, "zero bytes on disk");
});

t.test("a file that cannot be created fails the stream with the open error", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "missing-dir", "body");
  await t.rejects(
    pipeline(
      Readable.from([Buffer.from("x")]),
      new FileSink(path, { syncEveryBytes: 1, highWaterMark: 1024, minWriteBytes: 1 }),
    ),
    { code: "ENOENT" },
    "ENOENT from open()",
  );
});
