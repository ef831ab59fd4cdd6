import t from "tap";
import { Progress } from "../../automation/progress";
import type { InvocationRecord } from "../../core/run-files";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, write: (s: string) => chunks.push(s) } };
}

const inv = (o: Partial<InvocationRecord>): InvocationRecord => ({
  run_id: "r",
  cell_id: "c",
  function_name: "f",
  workload: "events",
  trial: 1,
  seq: 0,
  client_start_ms: 0,
  client_end_ms: 1,
  status_code: 200,
  throttled: false,
  ...o,
});

t.test("without a TTY each phase is one plain line", async (t) => {
  let now = 0;
  const { chunks, out } = sink(false);
  const p = new Progress(out, 2, () => now);
  p.phase("a", "deploying");
  now = 61_000;
  p.phase("a", "trial-start", "trial 1/3");
  p.phase("a", "done");
  p.stop();
  t.same(
    chunks,
    ["[0:00] 0/2 a deploying\n", "[1:01] 0/2 a trial-start trial 1/3\n", "[1:01] 1/2 a done\n"],
    "plain lines",
  );
});

t.test(
  "the live view shows cells, phases, invocations, throttles, errors, elapsed and ETA",
  async (t) => {
    let now = 0;
    const { out } = sink(false);
    const p = new Progress(out, 4, () => now);
    p.phase("a", "done");
    p.phase("b", "trial-start", "trial 2/3");
    p.invocation(inv({}));
    p.invocation(inv({ throttled: true, status_code: 429 }));
    p.invocation(inv({ function_error: "Unhandled" }));
    now = 30_000;
    t.equal(
      p.render(),
      "invocations 3  throttled 1 (33.3%)  errors 1  elapsed 0:30  eta 1:30\ncells 1/4 (done 1, failed 0)\n  b: trial-start (trial 2/3)\n",
      "without a known total: the ETA comes from the cells finished",
    );
  },
);

t.test("on a TTY frames are redrawn in place and the last one stays", async (t) => {
  const { chunks, out } = sink(true);
  const p = new Progress(out, 1, () => 0);
  p.phase("a", "deploying");
  p.stop();
  t.equal(chunks.length, 1, "the final frame is drawn on stop");
  t.equal(
    chunks[0],
    "invocations 0  throttled 0  errors 0  elapsed 0:00  eta ?\ncells 0/1 (done 0, failed 0)\n  a: deploying\n",
    "no phase lines on a TTY",
  );
});

t.test(
  "with the plan's invocation total: a bar, done/total and an ETA from the invocation rate",
  async (t) => {
    let now = 0;
    const { out } = sink(false);
    const p = new Progress(out, 54, () => now, 200);
    p.phase("a", "trial-start", "trial 1/3");
    for (let i = 0; i < 50; i++)
      p.invocation(inv({ throttled: i < 5, status_code: i < 5 ? 429 : 200 }));
    now = 20_000;
    t.equal(
      p.render(),
      "[######------------------] invocations 50/200  throttled 5 (10.0%)  errors 0  elapsed 0:20  eta 1:00\ncells 0/54 (done 0, failed 0)\n  a: trial-start (trial 1/3)\n",
      "50 of 200 in 20 s: 150 more at 2.5/s is 1:00, before any cell has finished",
    );
  },
);
