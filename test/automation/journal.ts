import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import {
  doneCells,
  Journal,
  latestHarvests,
  missingRecords,
  readJournal,
  unfinishedCells,
} from "../../automation/journal";
import type { JournalEntry } from "../../core/run-files";

const dir = mkdtempSync(join(tmpdir(), "journal-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test(
  "the journal appends one JSON line per phase and reads back done and unfinished cells",
  async (t) => {
    const file = join(dir, "journal.jsonl");
    const j = new Journal(file);
    j.write("a", "deploying");
    j.write("a", "trial-start", { run_id: "run_1", trial: 1 });
    j.write("a", "done");
    j.write("b", "deploying");
    j.close();
    // A killed process may leave a torn last line behind.
    appendFileSync(file, '{"ts":"x","cell_id":"b","pha');
    const lines = readFileSync(file, "utf8").split("\n");
    t.equal(lines.length, 5, "four whole lines and a torn one");
    const entries = readJournal(file);
    t.equal(entries.length, 4, "the torn line is skipped");
    t.same(
      entries[1],
      { ts: entries[1]?.ts, cell_id: "a", phase: "trial-start", run_id: "run_1", trial: 1 },
      "fields kept",
    );
    t.same([...doneCells(entries)], ["a"], "a is done");
    t.same([...unfinishedCells(entries)], ["b"], "b is unfinished");
  },
);

t.test(
  "a harvested entry after a cell ended (--reharvest) does not reopen it; the latest harvest of a run counts",
  async (t) => {
    const e = (
      cell_id: string,
      phase: JournalEntry["phase"],
      extra: Partial<JournalEntry> = {},
    ) => ({
      ts: "2026-12-01T00:00:00.000Z",
      cell_id,
      phase,
      ...extra,
    });
    const entries: JournalEntry[] = [
      e("a", "trial-start", { run_id: "r1" }),
      e("a", "harvested", { run_id: "r1", detail: { missing: 3 } }),
      e("a", "done"),
      e("b", "trial-start", { run_id: "r2" }),
      e("b", "harvested", { run_id: "r2", detail: { missing: 1 } }),
      e("c", "trial-start", { run_id: "r3" }),
      e("c", "failed"),
      e("a", "harvested", { run_id: "r1", detail: { missing: 0 } }),
      e("c", "harvested", { run_id: "r3", detail: { missing: 2 } }),
    ];
    t.same(
      [...unfinishedCells(entries)].sort(),
      ["b", "c"],
      "a stays done, c stays failed (unfinished), b was never finished",
    );
    t.same(
      [...latestHarvests(entries)].map(([id, x]) => [id, x.detail?.missing]),
      [
        ["r1", 0],
        ["r2", 1],
        ["r3", 2],
      ],
      "the latest entry per run",
    );
    t.equal(missingRecords(entries), 3, "0 + 1 + 2: r1's first count is superseded");
  },
);
