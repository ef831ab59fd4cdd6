import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { Store } from "../../../local/s3/store";

t.test("a stored part's number, ETag, size and date survive a reopen of the store", async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), "s3-store-"));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await Store.open(dataDir);
  await store.createBucket("parts");
  const upload = await store.createUpload("parts", "k", {
    contentType: "application/octet-stream",
    metadata: {},
  });
  const body = store.tempPath();
  await writeFile(body, "x".repeat(1234));
  const part = {
    partNumber: 7,
    etag: '"0123456789abcdef0123456789abcdef"',
    size: 1234,
    lastModified: "2026-11-23T23:15:06.123Z",
  };
  await store.putPart("parts", "k", upload.uploadId, part, body);

  const reopened = await Store.open(dataDir);
  const got = reopened.getUpload("parts", "k", upload.uploadId).parts.get(7);
  t.same(
    got && { ...got, file: undefined },
    { ...part, file: undefined },
    "the same part metadata after reopening",
  );
});

t.test(
  "after a crash between a part's replacement and the old file's removal the later part wins",
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), "s3-store-"));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const store = await Store.open(dataDir);
    await store.createBucket("parts");
    const upload = await store.createUpload("parts", "k", {
      contentType: "application/octet-stream",
      metadata: {},
    });
    const first = store.tempPath();
    await writeFile(first, "old");
    const old = {
      partNumber: 1,
      etag: `"${"a".repeat(32)}"`,
      size: 3,
      lastModified: "2026-01-01T00:00:00.000Z",
    };
    await store.putPart("parts", "k", upload.uploadId, old, first);
    const oldFile = upload.parts.get(1)?.file ?? "";
    const dir = join(dataDir, "buckets", "parts", "uploads", upload.uploadId);
    const second = store.tempPath();
    await writeFile(second, "newer");
    const newer = {
      partNumber: 1,
      etag: `"${"b".repeat(32)}"`,
      size: 5,
      lastModified: "2026-01-02T00:00:00.000Z",
    };
    await store.putPart("parts", "k", upload.uploadId, newer, second);
    // Put the replaced file back, as if the server died before removing it.
    await writeFile(join(dir, oldFile), "old");
    t.not(oldFile, upload.parts.get(1)?.file, "the replacement has its own file");

    const reopened = await Store.open(dataDir);
    const got = reopened.getUpload("parts", "k", upload.uploadId).parts.get(1);
    t.equal(got?.etag, newer.etag, "the later part's ETag");
    t.equal(got?.size, 5, "the later part's size");
  },
);
