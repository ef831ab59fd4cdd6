import t from "tap";
import { localDefaultReason } from "../../automation/run-defaults";

t.test("a local default's reason, per workload for --concurrency", async (t) => {
  t.match(localDefaultReason("trials", 3), /^fewer than the seed's 5/, "a plain default");
  t.equal(localDefaultReason("bogus", 1), "local backend", "an unknown one");
  const both = localDefaultReason("concurrency", { events: 1, batch: 20 });
  t.match(
    both,
    /^events 1: as many environments as this host's cores hold .* At 1, reserved concurrency 10 and 50 do not bind: those cells are the same treatment as the unreserved ones, without throttles\. batch 20: the seed's: /,
    "both workloads, events with the levels its concurrency leaves unbound",
  );
  t.notMatch(both, /batch 20:.*do(es)? not bind/, "batch's reason has no rc clause");
  t.match(
    localDefaultReason("concurrency", { events: 12 }),
    /^events 12: .* At 12, reserved concurrency 50 does not bind: /,
    "on a 15-core host rc 10 binds again, rc 50 does not",
  );
  const batchOnly = localDefaultReason("concurrency", { batch: 20 });
  t.match(batchOnly, /^batch 20: the seed's: /, "only the workload defaulted is named");
  t.notMatch(batchOnly, /events/, "and not the other");
});
