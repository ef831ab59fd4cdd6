import t from "tap";
import { cellId } from "../../core/cell";
import { fullMatrix, parseMatrix, shuffled, workloadCells } from "../../core/matrix";

t.test("the full matrix has 27 events cells and 27 batch cells, all distinct", async (t) => {
  const cells = fullMatrix();
  t.equal(cells.length, 54, "54 cells in all");
  t.equal(cells.filter((c) => c.workload === "events").length, 27, "27 events cells");
  t.equal(new Set(cells.map(cellId)).size, 54, "every cell id is unique");
  t.same(
    workloadCells("batch")[0],
    { workload: "batch", memoryMb: 512, multipartMb: 8, reservedConcurrency: 0 },
    "batch grid starts at the lowest levels",
  );
});

t.test("named matrices select one workload or both", async (t) => {
  t.equal(parseMatrix("full").length, 54, "full");
  t.ok(
    parseMatrix("events").every((c) => c.workload === "events"),
    "events only",
  );
  t.equal(parseMatrix(" batch ").length, 27, "batch, surrounding blanks ignored");
});

t.test("a filter keeps the cells matching every key", async (t) => {
  const cells = parseMatrix("workload=batch,memory=512|1024,rc=0");
  t.equal(cells.length, 6, "2 memories × 3 part sizes × 1 rc");
  t.ok(
    cells.every((c) => c.workload === "batch" && c.reservedConcurrency === 0 && c.memoryMb <= 1024),
    "all match",
  );
  t.same(
    parseMatrix("memory=2048,batch=100,rc=50").map(cellId),
    ["events-2048mb-b100-rc50"],
    "a size key of one workload excludes the other",
  );
  t.equal(parseMatrix("batch=1,part=8").length, 18, "both size keys keep both workloads");
  t.equal(parseMatrix("multipart_mb=64,reserved=10").length, 3, "aliases accepted");
});

t.test("a bad matrix spec names the flag, the value and what is allowed", async (t) => {
  t.throws(
    () => parseMatrix("everything"),
    {
      name: "InvalidInputError",
      message: /^--matrix="everything" is invalid: allowed full, events, batch, or a filter/,
    },
    "unknown name",
  );
  t.throws(
    () => parseMatrix("memory=768"),
    { message: '--matrix memory="768" is invalid: allowed one of 512, 1024, 2048' },
    "level outside the grid",
  );
  t.throws(
    () => parseMatrix("colour=red"),
    { message: /^--matrix="colour=red" is invalid/ },
    "unknown key",
  );
  t.throws(
    () => parseMatrix("workload=events,part=8"),
    { message: /a filter that selects at least one cell/ },
    "empty selection",
  );
});

t.test("a seeded shuffle is a reproducible permutation", async (t) => {
  const ids = fullMatrix().map(cellId);
  const a = shuffled(ids, 42);
  t.same(shuffled(ids, 42), a, "same seed, same order");
  t.not(shuffled(ids, 43).join(), a.join(), "another seed, another order");
  t.same([...a].sort(), [...ids].sort(), "a permutation of the input");
  t.not(a.join(), ids.join(), "the order changed");
});
