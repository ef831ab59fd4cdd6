import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { makeDirectory } from "../../core/dirs";

function messageOf(f: () => void): string {
  try {
    f();
  } catch (e: unknown) {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  return "(no error)";
}

t.test("makes a directory and its missing parents; an existing one is fine", async (t) => {
  const root = t.testdir();
  const deep = join(root, "a", "b", "c");
  makeDirectory("--out", deep);
  t.ok(statSync(deep).isDirectory(), "created with its parents");
  makeDirectory("--out", deep);
  t.ok(existsSync(deep), "again: no error");
});

t.test("paths that cannot be directories are named bad input, at once", async (t) => {
  const root = t.testdir({ file: "x" });
  const file = join(root, "file");
  t.equal(
    messageOf(() => makeDirectory("--out", "/proc/x")),
    'InvalidInputError: --out="/proc/x" is invalid: allowed a directory that can be created (its parent cannot hold new directories: /proc/x)',
    "procfs: a clear error instead of spinning forever",
  );
  t.equal(
    messageOf(() => makeDirectory("--out-dir", "/sys/x")),
    'InvalidInputError: --out-dir="/sys/x" is invalid: allowed a directory that can be created (operation not permitted: /sys/x)',
    "sysfs",
  );
  t.equal(
    messageOf(() => makeDirectory("--out", join(file, "run"))),
    `InvalidInputError: --out=${JSON.stringify(join(file, "run"))} is invalid: allowed a directory that can be created (a file is in the way: ${file})`,
    "under a file",
  );
  t.equal(
    messageOf(() => makeDirectory("--out-dir", file)),
    `InvalidInputError: --out-dir=${JSON.stringify(file)} is invalid: allowed a directory that can be created (a file is in the way: ${file})`,
    "a file itself",
  );
});
