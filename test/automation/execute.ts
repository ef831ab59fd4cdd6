import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ingestionFailures } from "../../automation/execute";

t.test(
  "ingestionFailures counts the records with ok: false and gives the first error",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "execute-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "records.jsonl");
    t.same(ingestionFailures(file), { failed: 0, total: 0 }, "no file: nothing");
    const lines = [
      { request_id: "a", ok: true },
      {
        request_id: "b",
        ok: false,
        error: "S3 UploadPart s3://b/k part 2 failed: read ECONNRESET",
      },
      { request_id: "c", ok: false, error: "S3 PutObject s3://b/k2 failed: InternalError" },
      { request_id: "d", ok: true },
    ];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n{not json\n`);
    t.same(
      ingestionFailures(file),
      { failed: 2, total: 4, first: "S3 UploadPart s3://b/k part 2 failed: read ECONNRESET" },
      "two of four, the first error; a malformed line is no record",
    );
  },
);
