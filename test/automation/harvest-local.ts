import t from "tap";
import { LocalHarvester, type LocalLogReader } from "../../automation/harvest-local";
import { DEPLOYED, emfLine, invocation, RUN } from "./fixtures";

function reader(lines: string[][]): LocalLogReader & { groups: string[] } {
  const groups: string[] = [];
  let call = 0;
  return {
    groups,
    async getLogEvents(group) {
      groups.push(group);
      const batch = lines[Math.min(call++, lines.length - 1)] ?? [];
      return batch.map((message, i) => ({ timestamp: i, message }));
    },
  };
}

t.test(
  "records of the run are read from the log store; other runs and log lines are ignored",
  async (t) => {
    const logs = reader([
      [
        "START RequestId: req-0 Version: $LATEST",
        emfLine(0),
        "END RequestId: req-0",
        emfLine(7, "run_1700000000000_zzzzzz"),
        emfLine(1),
        emfLine(1),
      ],
    ]);
    const r = await new LocalHarvester(logs, { settleMs: 0 }).harvest({
      deployed: DEPLOYED,
      runId: RUN,
      startMs: 0,
      endMs: 1,
      invocations: [invocation(0), invocation(1), invocation(2, { throttled: true })],
    });
    t.same(
      r.records.map((x) => x.request_id),
      ["req-0", "req-1"],
      "two records, duplicate dropped",
    );
    t.same(
      { expected: r.expected, found: r.found, missing: r.missing, source: r.source },
      { expected: 2, found: 2, missing: 0, source: "local-logs" },
      "complete",
    );
    t.same(logs.groups, [DEPLOYED.logGroup], "the cell's log group was read once");
  },
);

t.test(
  "lines written late are waited for; tails fill what never arrives; the rest is missing",
  async (t) => {
    const logs = reader([[emfLine(0)], [emfLine(0), emfLine(1)]]);
    const r = await new LocalHarvester(logs, { settleMs: 50, pollMs: 1 }).harvest({
      deployed: DEPLOYED,
      runId: RUN,
      startMs: 0,
      endMs: 1,
      invocations: [invocation(0), invocation(1), invocation(2, { tail: true }), invocation(3)],
    });
    t.same(r.counts, { "local-logs": 2, tail: 1 }, "two from the store, one from a tail");
    t.equal(r.missing, 1, "one missing, counted");
  },
);
