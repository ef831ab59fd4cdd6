import t from "tap";
import { CELL_FIELDS, configKey, parseCellInputs, readCellConfig } from "../../infra/cell-config";

const EVENTS = {
  "aws:region": "eu-central-1",
  "s3ingest:workload": "events",
  "s3ingest:memoryMb": "1024",
  "s3ingest:batchEvents": "10",
  "s3ingest:reservedConcurrency": "50",
} as const;

const BATCH = {
  "s3ingest:workload": "batch",
  "s3ingest:memoryMb": "2048",
  "s3ingest:multipartMb": "64",
  "s3ingest:reservedConcurrency": "0",
} as const;

t.test("an events cell is read with defaults for the settings not given", async (t) => {
  t.strictSame(
    readCellConfig(EVENTS),
    {
      cell: { workload: "events", memoryMb: 1024, batchEvents: 10, reservedConcurrency: 50 },
      settings: {
        eventBytes: 1024,
        objectMb: 100,
        architecture: "arm64",
        namePrefix: "",
        region: "eu-central-1",
      },
    },
    "cell and settings",
  );
});

t.test("a batch cell is read with every setting given", async (t) => {
  t.strictSame(
    readCellConfig(
      {
        ...BATCH,
        "s3ingest:objectMb": "300",
        "s3ingest:eventBytes": "256",
        "s3ingest:architecture": "x86_64",
        "s3ingest:namePrefix": "me_",
        "s3ingest:runTag": "k3x9q2",
        "aws:profile": "lab",
      },
      "ap-south-1",
    ),
    {
      cell: { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 0 },
      settings: {
        eventBytes: 256,
        objectMb: 300,
        architecture: "x86_64",
        namePrefix: "me_",
        runTag: "k3x9q2",
        region: "ap-south-1",
      },
    },
    "cell and settings; the region falls back without aws:region",
  );
});

t.test("an empty value counts as not given", async (t) => {
  t.equal(
    readCellConfig({ ...EVENTS, "s3ingest:architecture": "" }).settings.architecture,
    "arm64",
    "default architecture",
  );
  t.throws(
    () => readCellConfig({ ...EVENTS, "s3ingest:memoryMb": "" }),
    {
      name: "InvalidInputError",
      message: "s3ingest:memoryMb=(missing) is invalid: allowed an integer from 128 to 10240",
    },
    "a required key left empty is missing",
  );
});

const ERRORS: readonly [string, Record<string, string>, string][] = [
  [
    "a missing workload",
    { ...EVENTS, "s3ingest:workload": "" },
    "s3ingest:workload=(missing) is invalid: allowed one of events, batch",
  ],
  [
    "an unknown workload",
    { ...EVENTS, "s3ingest:workload": "stream" },
    's3ingest:workload="stream" is invalid: allowed one of events, batch',
  ],
  [
    "a memory below Lambda's minimum",
    { ...EVENTS, "s3ingest:memoryMb": "64" },
    's3ingest:memoryMb="64" is invalid: allowed an integer from 128 to 10240',
  ],
  [
    "a memory above Lambda's maximum",
    { ...EVENTS, "s3ingest:memoryMb": "10241" },
    's3ingest:memoryMb="10241" is invalid: allowed an integer from 128 to 10240',
  ],
  [
    "a fractional memory",
    { ...EVENTS, "s3ingest:memoryMb": "1024.5" },
    's3ingest:memoryMb="1024.5" is invalid: allowed an integer from 128 to 10240',
  ],
  [
    "events without batchEvents",
    { ...BATCH, "s3ingest:workload": "events", "s3ingest:multipartMb": "" },
    "s3ingest:batchEvents=(missing) is invalid: allowed an integer from 1 to 100000",
  ],
  [
    "zero events per object",
    { ...EVENTS, "s3ingest:batchEvents": "0" },
    's3ingest:batchEvents="0" is invalid: allowed an integer from 1 to 100000',
  ],
  [
    "events with a part size",
    { ...EVENTS, "s3ingest:multipartMb": "8" },
    's3ingest:multipartMb="8" is invalid: allowed no value when s3ingest:workload is events (set s3ingest:batchEvents instead)',
  ],
  [
    "batch without multipartMb",
    { ...BATCH, "s3ingest:multipartMb": "" },
    "s3ingest:multipartMb=(missing) is invalid: allowed an integer from 5 to 5120",
  ],
  [
    "a part below S3's minimum",
    { ...BATCH, "s3ingest:multipartMb": "4" },
    's3ingest:multipartMb="4" is invalid: allowed an integer from 5 to 5120',
  ],
  [
    "a part above S3's maximum",
    { ...BATCH, "s3ingest:multipartMb": "5121" },
    's3ingest:multipartMb="5121" is invalid: allowed an integer from 5 to 5120',
  ],
  [
    "batch with events per object",
    { ...BATCH, "s3ingest:batchEvents": "10" },
    's3ingest:batchEvents="10" is invalid: allowed no value when s3ingest:workload is batch (set s3ingest:multipartMb instead)',
  ],
  [
    "a missing reserved concurrency",
    { ...EVENTS, "s3ingest:reservedConcurrency": "" },
    "s3ingest:reservedConcurrency=(missing) is invalid: allowed an integer from 0 to 100000",
  ],
  [
    "a negative reserved concurrency",
    { ...EVENTS, "s3ingest:reservedConcurrency": "-1" },
    's3ingest:reservedConcurrency="-1" is invalid: allowed an integer from 0 to 100000',
  ],
  [
    "an object of 0 MiB",
    { ...BATCH, "s3ingest:objectMb": "0" },
    's3ingest:objectMb="0" is invalid: allowed an integer from 1 to 5242880',
  ],
  [
    "an object of more than 10,000 parts",
    { ...BATCH, "s3ingest:multipartMb": "8", "s3ingest:objectMb": "80001" },
    's3ingest:objectMb="80001" is invalid: allowed at most 80000 with s3ingest:multipartMb=8 (10000 parts)',
  ],
  [
    "events of 255 bytes",
    { ...EVENTS, "s3ingest:eventBytes": "255" },
    's3ingest:eventBytes="255" is invalid: allowed an integer from 256 to 8192',
  ],
  [
    "events of 8193 bytes",
    { ...EVENTS, "s3ingest:eventBytes": "8193" },
    's3ingest:eventBytes="8193" is invalid: allowed an integer from 256 to 8192',
  ],
  [
    "an unknown architecture",
    { ...EVENTS, "s3ingest:architecture": "arm" },
    's3ingest:architecture="arm" is invalid: allowed one of arm64, x86_64',
  ],
  [
    "a name prefix with a space",
    { ...EVENTS, "s3ingest:namePrefix": "my lab" },
    "s3ingest:namePrefix=\"my lab\" is invalid: allowed letters, digits, '-' and '_'",
  ],
  [
    "a name prefix too long for a function name",
    { ...EVENTS, "s3ingest:namePrefix": "x".repeat(40) },
    `s3ingest:namePrefix="${"x".repeat(40)}" is invalid: allowed a prefix that keeps the function name "${"x".repeat(40)}s3-experiment-events-1024mb-b10-rc50" within 64 characters`,
  ],
  [
    "a run tag that is not 6 lowercase letters or digits",
    { ...EVENTS, "s3ingest:runTag": "ABC" },
    's3ingest:runTag="ABC" is invalid: allowed 6 lowercase letters or digits, or none',
  ],
  [
    "a misspelt key",
    { ...EVENTS, "s3ingest:memoryMB": "1024" },
    `s3ingest:memoryMB="1024" is invalid: allowed one of the keys ${CELL_FIELDS.map(configKey).join(", ")}`,
  ],
];

t.test("bad config names the key, the value and what is allowed", async (t) => {
  for (const [what, config, message] of ERRORS) {
    t.throws(() => readCellConfig(config), { name: "InvalidInputError", message }, what);
  }
});

t.test("the region in use has a region's shape, named as the user set it", async (t) => {
  const allowed = "allowed an AWS region name such as us-east-1";
  t.throws(() => readCellConfig({ ...EVENTS, "aws:region": "mars" }), {
    name: "InvalidInputError",
    message: `aws:region="mars" is invalid: ${allowed}`,
  });
  t.throws(() => readCellConfig(BATCH, "us_east_1"), {
    name: "InvalidInputError",
    message: `AWS_REGION="us_east_1" is invalid: ${allowed}`,
  });
  t.equal(
    readCellConfig(EVENTS, "mars").settings.region,
    "eu-central-1",
    "AWS_REGION is not read when aws:region is set",
  );
  t.equal(readCellConfig(BATCH, "").settings.region, "us-east-1", "empty: the default");
});

t.test("the field labels are the caller's", async (t) => {
  t.throws(
    () =>
      parseCellInputs(
        (field) => (field === "workload" ? "batch" : undefined),
        (field) => `--${field}`,
      ),
    {
      name: "InvalidInputError",
      message: "--memoryMb=(missing) is invalid: allowed an integer from 128 to 10240",
    },
    "the label names the input",
  );
});
