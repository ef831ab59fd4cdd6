import t from "tap";
import { cellId } from "../../core/cell";
import { fullMatrix } from "../../core/matrix";
import {
  functionName,
  localBucketName,
  logGroupName,
  MAX_DEPLOY_ATTEMPT,
  MAX_NAME_PREFIX_LENGTH,
  newRunId,
  newRunTag,
  objectKey,
  RUN_ID_PATTERN,
  RUN_TAG_PATTERN,
} from "../../core/names";

t.test("function names follow the pattern of docs/architecture.md Names", async (t) => {
  t.equal(
    functionName({ workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 }),
    "s3-experiment-events-512mb-b10-rc0",
    "events cell",
  );
  t.equal(
    functionName(
      { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 50 },
      "dev-",
    ),
    "dev-s3-experiment-batch-2048mb-p64mb-rc50",
    "batch cell with a prefix",
  );
  t.equal(logGroupName("f"), "/aws/lambda/f", "log group");
});

t.test("a name prefix that is not allowed or too long is refused", async (t) => {
  const cell = {
    workload: "events",
    memoryMb: 512,
    batchEvents: 1,
    reservedConcurrency: 0,
  } as const;
  t.throws(
    () => functionName(cell, "a b"),
    { message: `NAME_PREFIX="a b" is invalid: allowed letters, digits, '-' and '_'` },
    "space",
  );
  t.throws(
    () => functionName(cell, "x".repeat(40)),
    { name: "InvalidInputError", message: /within 64 characters/ },
    "too long",
  );
});

t.test("run ids have the documented shape and use the injected clock", async (t) => {
  const id = newRunId(1700000000123, () => 0.5);
  t.equal(id, "run_1700000000123_ssssss", "deterministic with injected randomness");
  t.match(newRunId(), RUN_ID_PATTERN, "default run id matches the pattern");
});

t.test("object keys and local bucket names", async (t) => {
  t.equal(
    objectKey("events", 1024, "run_1_abc", 5, "u"),
    "events/1024mb/run_1_abc/5-u.jsonl",
    "events key",
  );
  t.equal(objectKey("batch", 512, "r", 5, "u"), "batch/512mb/r/5-u.bin", "batch key");
  const b = localBucketName(
    { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 50 },
    "ABCDEF",
  );
  t.equal(b, "s3x-batch-2048mb-p64mb-rc50-abcdef", "lowercase bucket name");
  t.ok(b.length <= 63, "within S3's 63 characters");
});

t.test("a run tag makes a cell's function name unique per run", async (t) => {
  const cell = {
    workload: "events",
    memoryMb: 512,
    batchEvents: 1,
    reservedConcurrency: 0,
  } as const;
  t.equal(
    newRunTag(() => 0.5),
    "ssssss",
    "6 characters from the injected randomness",
  );
  t.match(newRunTag(), RUN_TAG_PATTERN, "the default tag matches the pattern");
  t.equal(
    functionName(cell, "", "k3x9q2"),
    "s3-experiment-events-512mb-b1-rc0-k3x9q2",
    "the tag is appended to the seed's name",
  );
  t.equal(
    functionName(cell, "dev-", "k3x9q2"),
    "dev-s3-experiment-events-512mb-b1-rc0-k3x9q2",
    "after the prefix",
  );
  t.equal(functionName(cell, "", ""), "s3-experiment-events-512mb-b1-rc0", "no tag: old names");
  t.throws(
    () => functionName(cell, "", "K3X9Q2"),
    { message: 'run tag="K3X9Q2" is invalid: allowed 6 lowercase letters or digits, or none' },
    "a bad tag",
  );
});

t.test("the longest prefix leaves the longest tagged name at Lambda's 64 characters", async (t) => {
  t.equal(MAX_NAME_PREFIX_LENGTH, 17, "64 − 47 (44 and a 99th attempt's -99)");
  const longest = {
    workload: "events",
    memoryMb: 1024,
    batchEvents: 100,
    reservedConcurrency: 10,
  } as const;
  const name = functionName(
    longest,
    "p".repeat(MAX_NAME_PREFIX_LENGTH),
    "zzzzzz",
    MAX_DEPLOY_ATTEMPT,
  );
  t.equal(name.length, 64, `exactly 64: ${name}`);
  t.throws(
    () => functionName(longest, "p".repeat(MAX_NAME_PREFIX_LENGTH + 1), "zzzzzz", 99),
    { name: "InvalidInputError", message: /within 64 characters/ },
    "one more character is refused",
  );
  for (const cell of fullMatrix()) {
    t.ok(
      functionName(cell, "p".repeat(MAX_NAME_PREFIX_LENGTH), "zzzzzz", MAX_DEPLOY_ATTEMPT).length <=
        64,
      `${cellId(cell)} fits`,
    );
  }
});

t.test("each deploy attempt of a cell after the first has its own name", async (t) => {
  const cell = {
    workload: "events",
    memoryMb: 512,
    batchEvents: 1,
    reservedConcurrency: 0,
  } as const;
  t.equal(functionName(cell, "", "k3x9q2"), "s3-experiment-events-512mb-b1-rc0-k3x9q2", "first");
  t.equal(functionName(cell, "", "k3x9q2", 1), "s3-experiment-events-512mb-b1-rc0-k3x9q2", "1");
  t.equal(functionName(cell, "", "k3x9q2", 2), "s3-experiment-events-512mb-b1-rc0-k3x9q2-2", "2");
  t.equal(functionName(cell, "x-", "k3x9q2", 99), "x-s3-experiment-events-512mb-b1-rc0-k3x9q2-99");
  for (const bad of [0, 100, 1.5]) {
    t.throws(
      () => functionName(cell, "", "k3x9q2", bad),
      {
        name: "InvalidInputError",
        message: `deploy attempt=${bad} is invalid: allowed an integer from 1 to 99 (a cell redeployed more often needs a new run)`,
      },
      `attempt ${bad}`,
    );
  }
});
