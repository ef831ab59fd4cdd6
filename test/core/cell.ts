import t from "tap";
import {
  cellEnvironment,
  DEFAULT_CELL_SETTINGS,
  functionTimeoutSeconds,
  reservedConcurrencySetting,
} from "../../core/cell";
import { parseIntInRange, parseOneOf } from "../../core/errors";

t.test("reserved concurrency level 0 is unreserved, never a literal 0", async (t) => {
  t.equal(
    reservedConcurrencySetting({
      workload: "events",
      memoryMb: 512,
      batchEvents: 1,
      reservedConcurrency: 0,
    }),
    undefined,
    "level 0",
  );
  t.equal(
    reservedConcurrencySetting({
      workload: "batch",
      memoryMb: 512,
      multipartMb: 8,
      reservedConcurrency: 10,
    }),
    10,
    "level 10",
  );
});

t.test("a cell's environment holds the seed's variables of its workload only", async (t) => {
  const settings = { ...DEFAULT_CELL_SETTINGS, namePrefix: "dev-" };
  t.same(
    cellEnvironment(
      { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 },
      settings,
      "bkt",
    ),
    {
      OUTPUT_BUCKET: "bkt",
      WORKLOAD: "events",
      MEMORY_MB: "512",
      RESERVED_CONCURRENCY: "0",
      BATCH_EVENTS: "10",
      EVENT_BYTES: "1024",
      NAME_PREFIX: "dev-",
    },
    "events",
  );
  t.same(
    cellEnvironment(
      { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 50 },
      DEFAULT_CELL_SETTINGS,
      "bkt",
    ),
    {
      OUTPUT_BUCKET: "bkt",
      WORKLOAD: "batch",
      MEMORY_MB: "2048",
      RESERVED_CONCURRENCY: "50",
      MULTIPART_MB: "64",
      OBJECT_MB: "100",
    },
    "batch, no prefix",
  );
  t.equal(
    functionTimeoutSeconds({
      workload: "batch",
      memoryMb: 512,
      multipartMb: 8,
      reservedConcurrency: 0,
    }),
    900,
    "batch timeout",
  );
});

t.test("integer and choice parsing is strict and names the input", async (t) => {
  t.equal(parseIntInRange("--trials", "5", 1, 100), 5, "valid");
  for (const raw of ["", "1.5", "1e3", " 7", "0x10", "101", undefined]) {
    t.throws(
      () => parseIntInRange("--trials", raw, 1, 100),
      {
        name: "InvalidInputError",
        message: /^--trials=.* is invalid: allowed an integer from 1 to 100$/,
      },
      `refuses ${JSON.stringify(raw)}`,
    );
  }
  t.equal(parseOneOf("--backend", "aws", ["local", "aws"]), "aws", "valid choice");
  t.throws(
    () => parseOneOf("--backend", "gcp", ["local", "aws"]),
    { message: '--backend="gcp" is invalid: allowed one of local, aws' },
    "bad choice",
  );
});
