/** Durable small-file writes and directory reads for the store. */
import { randomUUID } from "node:crypto";
import { type FileHandle, open, readdir, rename } from "node:fs/promises";
import { join } from "node:path";

export async function fsyncPath(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    await handle.sync();
  } finally {
    await handle?.close();
  }
}

/** Writes a small file durably: temp file, fsync, rename, fsync of the directory. */
export async function writeFileDurably(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${randomUUID()}.tmp`);
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncPath(dir);
}

export function isNotFound(e: unknown): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === "ENOENT";
}

/** A directory's entries; none when it is missing (a bucket directory left half-made). */
export async function readdirIfPresent(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e: unknown) {
    if (isNotFound(e)) return [];
    throw e;
  }
}
