import t from "tap";
import {
  type Cell,
  cellEnvironment,
  cellFromRecord,
  cellId,
  cellOutput,
  cellRecordFields,
  DEFAULT_CELL_SETTINGS,
  makeCell,
  parseCellId,
  sizeFactor,
} from "../../core/cell";
import { parseCell, parseWorkloadSetting } from "../../core/cell-input";
import type { EmfRecord } from "../../core/emf";
import { fullMatrix } from "../../core/matrix";
import { objectKey } from "../../core/names";
import { DEFAULT_INVOCATIONS, WORKLOAD_SPECS, WORKLOADS, workloadSpec } from "../../core/workloads";

const EVENTS: Cell = { workload: "events", memoryMb: 512, batchEvents: 10, reservedConcurrency: 0 };
const BATCH: Cell = { workload: "batch", memoryMb: 2048, multipartMb: 64, reservedConcurrency: 50 };

t.test("each workload is one row: the seed's two, in the order of reports", async (t) => {
  t.same(WORKLOADS, ["events", "batch"], "events, then batch");
  t.same(DEFAULT_INVOCATIONS, { events: 50, batch: 20 }, "the seed's invocations per run");
  t.same(
    WORKLOADS.map((w) => workloadSpec(w).timeoutSeconds),
    [60, 900],
    "function timeouts, seconds",
  );
  t.same(WORKLOAD_SPECS.events.factor.levels, [1, 10, 100], "events per object");
  t.same(WORKLOAD_SPECS.batch.factor.levels, [8, 32, 64], "multipart MiB");
  // The rows' names must not collide: each is a cell field, a variable, a record field.
  for (const key of ["field", "name", "env", "record", "filterKey", "tag"] as const) {
    const values = WORKLOADS.map((w) => WORKLOAD_SPECS[w].factor[key]);
    t.equal(new Set(values).size, values.length, `factor.${key} differs between workloads`);
  }
  // Workloads may share a setting, but then as one: one field, one variable, one record field.
  for (const key of ["env", "record"] as const) {
    const byField = new Map<string, string>();
    for (const w of WORKLOADS) {
      const s = WORKLOAD_SPECS[w].setting;
      t.equal(byField.get(s.field) ?? s[key], s[key], `setting ${s.field}: one ${key}`);
      byField.set(s.field, s[key]);
    }
  }
});

t.test("a cell's id, record fields and environment come from its row", async (t) => {
  t.equal(cellId(EVENTS), "events-512mb-b10-rc0", "events id");
  t.equal(cellId(BATCH), "batch-2048mb-p64mb-rc50", "batch id");
  t.same(makeCell("batch", 2048, 64, 50), BATCH, "makeCell puts the size under the row's field");
  t.equal(sizeFactor(BATCH), 64, "size factor");
  t.equal(objectKey("events", 512, "r1", 7, "u"), "events/512mb/r1/7-u.jsonl", "events key");
  t.equal(objectKey("batch", 512, "r1", 7, "u"), "batch/512mb/r1/7-u.bin", "batch key");
  t.same(
    cellRecordFields(EVENTS, DEFAULT_CELL_SETTINGS),
    { batch_events: 10, event_bytes: 1024, multipart_part_mb: 0, object_mb: 0 },
    "events record fields; batch's are 0",
  );
  t.same(
    cellRecordFields(BATCH, { objectMb: 200 }),
    { batch_events: 0, event_bytes: 0, multipart_part_mb: 64, object_mb: 200 },
    "batch record fields from its own setting only",
  );
  t.same(
    cellOutput(EVENTS, DEFAULT_CELL_SETTINGS),
    { objectBytes: 10 * 1024, parts: 0, events: 10 },
    "10 events of 1024 bytes in one PutObject",
  );
  t.same(
    cellOutput(BATCH, { ...DEFAULT_CELL_SETTINGS, objectMb: 100 }),
    { objectBytes: 100 * 1024 * 1024, parts: 2, events: 0 },
    "100 MiB in two 64 MiB parts",
  );
  t.throws(
    () => cellOutput(BATCH, { eventBytes: 1024 }),
    { message: "cell batch-2048mb-p64mb-rc50: no objectMb in its settings" },
    "a cell's own setting is required",
  );
});

t.test("every cell of the matrix survives id, record and environment round trips", async (t) => {
  for (const cell of fullMatrix()) {
    const id = cellId(cell);
    t.same(parseCellId(id), cell, `${id}: from its id`);
    const record = {
      workload: cell.workload,
      memory_mb: cell.memoryMb,
      reserved_concurrency: cell.reservedConcurrency,
      ...cellRecordFields(cell, DEFAULT_CELL_SETTINGS),
    } as unknown as EmfRecord;
    t.same(cellFromRecord(record), cell, `${id}: from its EMF record`);
    const env = cellEnvironment(cell, DEFAULT_CELL_SETTINGS, "bkt");
    const fromEnv = parseCell(
      {
        get: (f) =>
          env[
            {
              workload: "WORKLOAD",
              memoryMb: "MEMORY_MB",
              reservedConcurrency: "RESERVED_CONCURRENCY",
              batchEvents: "BATCH_EVENTS",
              multipartMb: "MULTIPART_MB",
            }[f]
          ],
        label: (f) => f,
      },
      { rejectOtherFactors: true },
    );
    t.same(fromEnv, cell, `${id}: from its environment`);
  }
  for (const id of ["events-512mb-p8mb-rc0", "batch-512mb-b10-rc0", "stream-512mb-b1-rc0", "x"]) {
    t.equal(parseCellId(id), undefined, `${id} is no cell id`);
  }
});

t.test("parseCell names the input as given, numbers included", async (t) => {
  const args = (v: Record<string, unknown>) => ({
    get: (f: string) => v[f],
    label: (f: string) => `IngestCellArgs.${f}`,
  });
  const cases: [Record<string, unknown>, string][] = [
    [
      { workload: "stream" },
      'IngestCellArgs.workload="stream" is invalid: allowed one of events, batch',
    ],
    [
      { workload: "events", memoryMb: 100 },
      "IngestCellArgs.memoryMb=100 is invalid: allowed an integer from 128 to 10240",
    ],
    [
      { workload: "events", memoryMb: 512.5 },
      "IngestCellArgs.memoryMb=512.5 is invalid: allowed an integer from 128 to 10240",
    ],
    [
      { workload: "events", memoryMb: 512, reservedConcurrency: 0, multipartMb: 8 },
      "IngestCellArgs.multipartMb=8 is invalid: allowed no value when IngestCellArgs.workload is events (set IngestCellArgs.batchEvents instead)",
    ],
    [
      { workload: "batch", memoryMb: 512, reservedConcurrency: 0, multipartMb: 4 },
      "IngestCellArgs.multipartMb=4 is invalid: allowed an integer from 5 to 5120",
    ],
    [
      { workload: "batch", memoryMb: "512", reservedConcurrency: 0 },
      "IngestCellArgs.multipartMb=(missing) is invalid: allowed an integer from 5 to 5120",
    ],
  ];
  for (const [values, message] of cases) {
    t.throws(
      () => parseCell(args(values), { rejectOtherFactors: true }),
      { name: "InvalidInputError", message },
      message,
    );
  }
  t.same(
    parseCell(args({ workload: "events", memoryMb: 512, batchEvents: 10 }), {
      reservedConcurrencyDefault: 0,
      rejectOtherFactors: false,
    }),
    EVENTS,
    "reserved concurrency defaults where the entry point allows it",
  );
  const setting = (v: Record<string, unknown>) => parseWorkloadSetting("batch", BATCH, args(v));
  t.equal(setting({}), 100, "the default object size");
  t.equal(setting({ objectMb: 640_000 }), 640_000, "10,000 parts of 64 MiB");
  t.throws(
    () => setting({ objectMb: 640_001 }),
    {
      message:
        "IngestCellArgs.objectMb=640001 is invalid: allowed at most 640000 with IngestCellArgs.multipartMb=64 (10000 parts)",
    },
    "more than 10,000 parts",
  );
  t.equal(
    parseWorkloadSetting("batch", EVENTS, args({ objectMb: 640_001 })),
    640_001,
    "another workload's setting is not capped by this cell's factor",
  );
});
