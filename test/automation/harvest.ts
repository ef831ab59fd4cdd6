import t from "tap";
import { RecordMerger } from "../../automation/harvest";
import type { InvocationRecord } from "../../core/run-files";
import { emf, invocation, RUN } from "./fixtures";

/** Invocation `i` as the client saw it time out: no response, so no request id and no status. */
function timedOut(i: number): InvocationRecord {
  const { request_id: _, ...rest } = invocation(i);
  return { ...rest, status_code: 0, error: "TimeoutError: request timed out" };
}

t.test(
  "completeness counts records of the invocations that reached the function, not any record of the run",
  async (t) => {
    // Invocation 0 reached the function; 1 timed out on the client (yet ran, and logged late).
    const merger = new RecordMerger(RUN, [invocation(0), timedOut(1)]);
    t.equal(merger.expected, 1, "one record expected");
    merger.add("insights", [emf(1)]);
    t.equal(merger.found, 1, "the late record is kept");
    t.equal(merger.complete, false, "but it does not stand in for invocation 0's");
    t.same(
      [merger.result().found, merger.result().missing],
      [1, 1],
      "invocation 0's record is counted missing",
    );
    merger.add("filter-log-events", [emf(0)]);
    t.equal(merger.complete, true, "complete once invocation 0's record is found");
    t.same(
      [merger.result().found, merger.result().missing],
      [2, 0],
      "both records kept, none missing",
    );
  },
);

t.test("a reached invocation without a request id is filled by any other record", async (t) => {
  const { request_id: _, ...anonymous } = invocation(0);
  const merger = new RecordMerger(RUN, [anonymous, invocation(1)]);
  merger.add("insights", [emf(1)]);
  t.equal(merger.complete, false, "one of two");
  merger.add("insights", [emf(7)]);
  t.equal(merger.complete, true, "the other record may be the anonymous invocation's");
  t.equal(merger.result().missing, 0, "none missing");
});
