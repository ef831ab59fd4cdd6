import t from "tap";
import { runPool } from "../../automation/pool";

t.test("the pool keeps exactly `concurrency` tasks in flight while work remains", async (t) => {
  let inFlight = 0;
  let max = 0;
  const order: number[] = [];
  const results = await runPool(10, 4, async (i) => {
    inFlight++;
    max = Math.max(max, inFlight);
    order.push(i);
    await new Promise((r) => setTimeout(r, 5 + (i % 3)));
    inFlight--;
    return i * 2;
  });
  t.equal(max, 4, "four in flight at the peak");
  t.same(results, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18], "results by index");
  t.same(
    [...order].sort((a, b) => a - b),
    [...Array(10).keys()],
    "each index once",
  );
});

t.test("an aborted pool starts no new tasks and returns the started ones", async (t) => {
  const controller = new AbortController();
  const results = await runPool(
    10,
    2,
    async (i) => {
      if (i === 3) controller.abort();
      await new Promise((r) => setTimeout(r, 1));
      return i;
    },
    controller.signal,
  );
  t.same(results, [0, 1, 2, 3], "tasks 0-3 started, nothing after the abort");
});
