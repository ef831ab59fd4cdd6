import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { doneCells, Journal, readJournal, unfinishedCells } from "../../automation/journal";

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
