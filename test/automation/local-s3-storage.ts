import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import {
  chooseS3Storage,
  memoryDirOf,
  peakS3Bytes,
  releaseS3Storage,
} from "../../automation/local-s3-storage";
import type { Cell } from "../../core/cell";
import { MIB } from "../../core/constants";

const BATCH: Cell = { workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 0 };
const EVENTS: Cell = {
  workload: "events",
  memoryMb: 512,
  batchEvents: 100,
  reservedConcurrency: 0,
};
const LOAD = {
  cells: [EVENTS, BATCH],
  settings: { objectMb: 100, eventBytes: 1024 },
  invocations: { events: 30, batch: 3 },
  warmup: { events: 20, batch: 3 },
  trials: 3,
};

t.test(
  "the peak is the largest cell's objects until its destroy, times the cells live",
  async (t) => {
    // batch: (3 warm-up + 3 × 3) objects of 100 MiB; events: 110 objects of 100 KiB.
    t.equal(peakS3Bytes({ ...LOAD, parallel: 1 }), 12 * 100 * MIB);
    t.equal(peakS3Bytes({ ...LOAD, parallel: 2 }), 2 * 12 * 100 * MIB);
    t.equal(peakS3Bytes({ ...LOAD, parallel: 5 }), 2 * 12 * 100 * MIB, "at most every cell");
  },
);

t.test("auto: in memory when the tmpfs has room, else on disk, saying why", async (t) => {
  const runDir = t.testdir();
  const memory = chooseS3Storage(runDir, { peakBytes: 100 * MIB });
  t.equal(memory.inMemory, true, "/dev/shm is a tmpfs with room for 100 MiB");
  t.equal(memory.dir, memoryDirOf(runDir));
  t.match(memory.note, "its data in memory (/dev/shm, a tmpfs)");
  const huge = chooseS3Storage(runDir, { peakBytes: 2 ** 50 });
  t.equal(huge.inMemory, false, "a peak beyond the tmpfs goes to disk");
  t.equal(huge.dir, join(runDir, ".local", "s3"));
  t.match(huge.note, /\/dev\/shm has \d+ MiB free, the run needs \d+ MiB\): the disk's speed/);
  const notTmpfs = chooseS3Storage(runDir, { peakBytes: 1 }, runDir);
  t.match(notTmpfs.note, `no tmpfs at ${runDir}`, "a root that is not a tmpfs is not memory");
  t.equal(chooseS3Storage(runDir, { peakBytes: 1, mode: "disk" }).inMemory, false, "disk");
  t.throws(
    () => chooseS3Storage(runDir, { mode: "memory" }, runDir),
    {
      message: `--local-s3-storage="memory" is invalid: allowed auto or disk (no tmpfs at ${runDir})`,
    },
    "memory without a tmpfs is bad input",
  );
});

t.test("an earlier attempt's data stays where it is; release removes memory only", async (t) => {
  const runDir = t.testdir();
  const first = chooseS3Storage(runDir, { peakBytes: MIB });
  mkdirSync(first.dir, { recursive: true });
  t.teardown(() => releaseS3Storage(first));
  t.equal(
    chooseS3Storage(runDir, { mode: "disk" }).dir,
    first.dir,
    "a resumed run keeps its buckets in memory",
  );
  t.not(
    memoryDirOf(join(runDir, "a", "x")),
    memoryDirOf(join(runDir, "b", "x")),
    "one name, two runs",
  );
  releaseS3Storage(first);
  const disk = join(runDir, ".local", "s3");
  mkdirSync(disk, { recursive: true });
  const again = chooseS3Storage(runDir, { peakBytes: MIB });
  t.same([again.inMemory, again.dir], [false, disk], "a run begun on disk stays on disk");
  t.match(again.note, "where this run began");
  releaseS3Storage(again);
  t.ok(existsSync(disk), "disk data is the run directory's: never removed");
});
