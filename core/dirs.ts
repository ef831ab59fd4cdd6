/**
 * Creating the directories a user names (`--out`, `--out-dir`, `--data-dir`) without Node's
 * recursive mkdir, which spins forever on procfs (`/proc/x`) and reports sysfs, a path under a
 * file or a file in the way with a stack trace instead of a message.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InvalidInputError } from "./errors";

function code(e: unknown): string | undefined {
  return e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

const WHY: Readonly<Record<string, string>> = {
  ENOENT: "its parent cannot hold new directories",
  ENOTDIR: "a part of the path is a file",
  EEXIST: "a file is in the way",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/**
 * Makes `path` and its missing parents, one level at a time. Any failure is bad input of
 * `flag`: an {@link InvalidInputError} naming the flag, the value the user typed and why.
 */
export function makeDirectory(flag: string, value: string, path: string = value): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e: unknown) {
      // ENOTDIR: a file further up; the walk finds it and names it.
      if (code(e) !== "ENOENT" && code(e) !== "ENOTDIR") {
        throw new InvalidInputError(
          flag,
          value,
          `a directory that can be created (${WHY[code(e) ?? ""] ?? String(e)}: ${p})`,
        );
      }
    }
    if (isDir === false) {
      throw new InvalidInputError(
        flag,
        value,
        `a directory that can be created (a file is in the way: ${p})`,
      );
    }
    if (isDir === true) break;
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e: unknown) {
      if (code(e) === "EEXIST" && statSync(p).isDirectory()) continue;
      throw new InvalidInputError(
        flag,
        value,
        `a directory that can be created (${WHY[code(e) ?? ""] ?? String(e)}: ${p})`,
      );
    }
  }
}
