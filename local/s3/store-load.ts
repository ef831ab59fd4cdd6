/** Loading a data directory's index, corrupt metadata files quarantined. */
import { mkdir, readdir, readFile, rename, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { isNotFound, readdirIfPresent, writeFileDurably } from "./store-files";
import {
  type BucketState,
  type ObjectMeta,
  type PartMeta,
  partFromFileName,
  type UploadMeta,
} from "./store-meta";

/**
 * Parses a JSON metadata file; undefined when it is missing, null when it is corrupt (then it
 * is moved to quarantine/ under a name that says where it was, and the log names it).
 */
async function readMeta<T>(
  dataDir: string,
  path: string,
  log: (line: string) => void,
): Promise<T | undefined | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e: unknown) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e: unknown) {
    const dir = join(dataDir, "quarantine");
    await mkdir(dir, { recursive: true });
    const name = relative(dataDir, path).replace(/[\\/]/g, "__");
    const moved = join(dir, `${name}.${Date.now()}`);
    await rename(path, moved);
    log(
      `skipped corrupt metadata file ${path} (${e instanceof Error ? e.message : String(e)}); moved to ${moved}`,
    );
    return null;
  }
}

/**
 * The index of a data directory: every bucket with its objects and unfinished uploads. A
 * metadata file that does not parse is reported through `log`, moved to quarantine/ and skipped.
 */
export async function loadIndex(
  dataDir: string,
  log: (line: string) => void,
): Promise<Map<string, BucketState>> {
  const buckets = new Map<string, BucketState>();
  for (const name of await readdir(join(dataDir, "buckets"))) {
    const dir = join(dataDir, "buckets", name);
    const bucketFile = join(dir, "bucket.json");
    let info = await readMeta<{ created: string }>(dataDir, bucketFile, log);
    if (info === undefined) continue; // not a bucket, or one being deleted
    if (info === null) {
      // Its bucket.json was corrupt: the bucket and its objects are kept, dated by its directory.
      info = { created: (await stat(dir)).mtime.toISOString() };
      await writeFileDurably(dir, "bucket.json", JSON.stringify(info));
    }
    const created = info.created;
    const bucket: BucketState = { name, created, objects: new Map(), uploads: new Map() };
    for (const file of await readdirIfPresent(join(dir, "objects"))) {
      if (!file.endsWith(".json") || file.startsWith(".")) continue;
      const meta = await readMeta<ObjectMeta>(dataDir, join(dir, "objects", file), log);
      if (meta !== undefined && meta !== null) bucket.objects.set(meta.key, meta);
    }
    for (const id of await readdirIfPresent(join(dir, "uploads"))) {
      const udir = join(dir, "uploads", id);
      const raw = await readMeta<Omit<UploadMeta, "parts">>(
        dataDir,
        join(udir, "upload.json"),
        log,
      );
      if (raw === undefined || raw === null) continue;
      const upload: UploadMeta = { ...raw, parts: new Map() };
      for (const file of await readdir(udir)) {
        let part: PartMeta | undefined;
        if (/^part-\d+\.json$/.test(file)) {
          // Written by earlier versions: a JSON sidecar per part.
          part = (await readMeta<PartMeta>(dataDir, join(udir, file), log)) ?? undefined;
        } else part = partFromFileName(file);
        if (part === undefined) continue;
        const known = upload.parts.get(part.partNumber);
        // Two files for one part number: a crash between storing a replacement and
        // removing the replaced one; the later upload wins, as it did before the crash.
        if (known === undefined || known.lastModified < part.lastModified) {
          upload.parts.set(part.partNumber, part);
        }
      }
      bucket.uploads.set(id, upload);
    }
    buckets.set(name, bucket);
  }
  return buckets;
}
