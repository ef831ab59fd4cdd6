import t from "tap";
import {
  MAX_PARTS_IN_FLIGHT,
  partBudgetMib,
  partsInFlight,
  readSettings,
} from "../../handlers/settings";

const MIB = 1024 * 1024;

const EVENTS = {
  OUTPUT_BUCKET: "ingest-bucket",
  WORKLOAD: "events",
  MEMORY_MB: "512",
  BATCH_EVENTS: "10",
  RESERVED_CONCURRENCY: "10",
};

const BATCH = {
  OUTPUT_BUCKET: "ingest-bucket",
  WORKLOAD: "batch",
  MEMORY_MB: "512",
  MULTIPART_MB: "64",
  OBJECT_MB: "100",
  RESERVED_CONCURRENCY: "0",
};

t.test(
  "an events cell's environment gives its settings, EVENT_BYTES defaulting to 1024",
  async (t) => {
    const s = readSettings({ ...EVENTS, AWS_REGION: "eu-west-1" });
    t.same(
      s,
      {
        workload: "events",
        outputBucket: "ingest-bucket",
        memoryMb: 512,
        reservedConcurrency: 10,
        namePrefix: "",
        s3Endpoint: undefined,
        region: "eu-west-1",
        batchEvents: 10,
        eventBytes: 1024,
      },
      "parsed settings",
    );
    t.equal(readSettings({ ...EVENTS, EVENT_BYTES: "8192" }).region, "us-east-1", "default region");
  },
);

t.test("a batch cell's environment gives its multipart plan", async (t) => {
  const s = readSettings({ ...BATCH, S3_ENDPOINT: "http://127.0.0.1:9000" });
  t.match(
    s,
    {
      workload: "batch",
      multipartMb: 64,
      objectMb: 100,
      partBytes: 64 * MIB,
      objectBytes: 100 * MIB,
      partCount: 2,
      partsInFlight: 2,
      s3Endpoint: "http://127.0.0.1:9000",
    },
    "100 MiB in 64 MiB parts: 2 parts, both in flight",
  );
});

t.test("parts in flight fit in memory with headroom", async (t) => {
  t.equal(partBudgetMib(512), 192, "512 MB leaves 192 MiB for part buffers");
  t.equal(partsInFlight(512, 64, 100), 3, "64 MiB parts at 512 MB: 3 in flight (192 MiB)");
  t.equal(partsInFlight(1024, 64, 100), 7, "64 MiB parts at 1024 MB: 7 in flight");
  t.equal(partsInFlight(2048, 8, 100), MAX_PARTS_IN_FLIGHT, "capped");
  t.equal(partsInFlight(2048, 8, 2), 2, "never more than the parts");
  for (const memory of [512, 1024, 2048]) {
    for (const part of [8, 32, 64]) {
      const n = partsInFlight(memory, part, 1000);
      t.ok(
        n * part <= (memory - 128) / 2,
        `${memory} MB, ${part} MiB parts: ${n} × ${part} MiB fits`,
      );
    }
  }
});

const errors: [string, Record<string, string>, string][] = [
  [
    "WORKLOAD missing",
    { ...EVENTS, WORKLOAD: "" },
    'WORKLOAD="" is invalid: allowed one of events, batch',
  ],
  [
    "unknown workload",
    { ...EVENTS, WORKLOAD: "stream" },
    'WORKLOAD="stream" is invalid: allowed one of events, batch',
  ],
  [
    "OUTPUT_BUCKET missing",
    { WORKLOAD: "events", MEMORY_MB: "512", BATCH_EVENTS: "1" },
    "OUTPUT_BUCKET=(missing) is invalid: allowed an S3 bucket name",
  ],
  [
    "OUTPUT_BUCKET not a bucket name",
    { ...EVENTS, OUTPUT_BUCKET: "My_Bucket" },
    `OUTPUT_BUCKET="My_Bucket" is invalid: allowed an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'`,
  ],
  [
    "MEMORY_MB not an integer",
    { ...EVENTS, MEMORY_MB: "1.5" },
    'MEMORY_MB="1.5" is invalid: allowed an integer from 128 to 10240',
  ],
  [
    "BATCH_EVENTS missing for events",
    { ...EVENTS, BATCH_EVENTS: "" },
    'BATCH_EVENTS="" is invalid: allowed an integer from 1 to 100000',
  ],
  [
    "EVENT_BYTES below 256",
    { ...EVENTS, EVENT_BYTES: "255" },
    'EVENT_BYTES="255" is invalid: allowed an integer from 256 to 8192',
  ],
  [
    "EVENT_BYTES above 8192",
    { ...EVENTS, EVENT_BYTES: "8193" },
    'EVENT_BYTES="8193" is invalid: allowed an integer from 256 to 8192',
  ],
  [
    "RESERVED_CONCURRENCY negative",
    { ...EVENTS, RESERVED_CONCURRENCY: "-1" },
    'RESERVED_CONCURRENCY="-1" is invalid: allowed an integer from 0 to 100000',
  ],
  [
    "NAME_PREFIX with a space",
    { ...EVENTS, NAME_PREFIX: "my prefix" },
    `NAME_PREFIX="my prefix" is invalid: allowed letters, digits, '-' and '_'`,
  ],
  [
    "S3_ENDPOINT not a URL",
    { ...EVENTS, S3_ENDPOINT: "localhost:9000" },
    'S3_ENDPOINT="localhost:9000" is invalid: allowed an http:// or https:// URL',
  ],
  [
    "part size below 5 MiB",
    { ...BATCH, MULTIPART_MB: "4" },
    'MULTIPART_MB="4" is invalid: allowed an integer from 5 to 5120',
  ],
  [
    "part size above 5 GiB",
    { ...BATCH, MEMORY_MB: "10240", MULTIPART_MB: "5121" },
    'MULTIPART_MB="5121" is invalid: allowed an integer from 5 to 5120',
  ],
  [
    "a part that does not fit in memory",
    { ...BATCH, MULTIPART_MB: "256" },
    'MULTIPART_MB="256" is invalid: allowed a part that fits in memory: at most 192 with MEMORY_MB=512 (50% of memory beyond 128 MiB)',
  ],
  [
    "more than 10,000 parts",
    { ...BATCH, MULTIPART_MB: "5", OBJECT_MB: "50001" },
    'OBJECT_MB="50001" is invalid: allowed at most 50000 with MULTIPART_MB=5 (10000 parts)',
  ],
  [
    "MEMORY_MB other than the memory Lambda set",
    { ...EVENTS, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024" },
    'MEMORY_MB="512" is invalid: allowed 1024, the memory Lambda runs the function with (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024)',
  ],
  [
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE not a memory size",
    { ...EVENTS, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512MB" },
    'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512MB" is invalid: allowed an integer from 128 to 10240',
  ],
  [
    "OBJECT_MB zero",
    { ...BATCH, OBJECT_MB: "0" },
    'OBJECT_MB="0" is invalid: allowed an integer from 1 to 5242880',
  ],
];

for (const [what, env, message] of errors) {
  t.test(
    `settings reject ${what} with a message naming variable, value and allowed values`,
    async (t) => {
      t.throws(() => readSettings(env), { name: "InvalidInputError", message }, message);
    },
  );
}

t.test("MEMORY_MB equal to the memory Lambda set is accepted, and so is its absence", async (t) => {
  t.equal(
    readSettings({ ...BATCH, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512" }).memoryMb,
    512,
    "on Lambda, the same memory",
  );
  t.equal(readSettings(BATCH).memoryMb, 512, "outside Lambda, MEMORY_MB as given");
});

t.test("exactly 10,000 parts are accepted", async (t) => {
  const s = readSettings({ ...BATCH, MULTIPART_MB: "5", OBJECT_MB: "50000" });
  t.equal(s.workload === "batch" ? s.partCount : 0, 10_000, "10,000 parts");
});
