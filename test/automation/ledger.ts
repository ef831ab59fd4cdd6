import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { Ledger, liveEntries } from "../../automation/ledger";
import type { Cell } from "../../core/cell";

const dir = mkdtempSync(join(tmpdir(), "ledger-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test("the ledger lists what is live after its last line", async (t) => {
  const file = join(dir, "ledger.jsonl");
  const cell: Cell = { workload: "events", memoryMb: 512, batchEvents: 1, reservedConcurrency: 0 };
  const l = new Ledger(file);
  l.live("local", "c1", cell, "fn1");
  l.live("local", "c2", cell, "fn2");
  l.gone("local", "c1", cell, "fn1");
  l.close();
  t.same(
    liveEntries(file).map((e) => e.resource),
    ["fn2"],
    "only fn2 may be live",
  );
  t.same(liveEntries(join(dir, "absent.jsonl")), [], "no ledger, nothing live");
});
