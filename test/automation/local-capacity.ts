import t from "tap";
import { busySlots, capacityNote, cpuDemand } from "../../automation/local-capacity";
import type { Cell } from "../../core/cell";

const closed = { model: "closed" } as const;
const inv = { events: 30, batch: 3 };
const ev = (memoryMb: number, rc: number): Cell => ({
  workload: "events",
  memoryMb,
  batchEvents: 1,
  reservedConcurrency: rc,
});
const batch: Cell = { workload: "batch", memoryMb: 2048, multipartMb: 8, reservedConcurrency: 0 };

t.test(
  "busy slots: the offered concurrency, capped by invocations and the reservation",
  async (t) => {
    t.equal(busySlots(ev(512, 0), closed, 20, inv), 20, "unreserved: C");
    t.equal(busySlots(ev(512, 10), closed, 20, inv), 10, "reserved 10");
    t.equal(busySlots(batch, closed, 20, inv), 3, "3 batch invocations per trial");
    const open = { model: "open", arrival_rate_per_s: 5, duration_s: 10 } as const;
    t.equal(busySlots(ev(512, 10), open, 20, inv), 10, "open loop: the reservation");
    t.equal(busySlots(ev(512, 0), open, 20, inv), undefined, "open loop unreserved: unbounded");
    t.equal(Number(cpuDemand(batch, closed, 20, inv)?.toFixed(3)), 3.473, "3 × 2048/1769");
  },
);

t.test("the note names the cells a 2-core host cannot give their quota", async (t) => {
  t.equal(
    capacityNote([ev(512, 10), ev(512, 0)], closed, 2, inv, 2),
    "every cell's busy environments fit this host's 2 cores (slots × memory/1769 ≤ 2): CPU quotas can all be honoured",
    "2 slots × 0.29 fit",
  );
  t.equal(
    capacityNote([ev(512, 10), batch], closed, 20, inv, 2),
    "2 of 2 cells ask for more CPU than this host's 2 cores when all their environments are busy (slots × memory/1769 cores, shown): where CPU-bound they are NOT measured faithfully (the quota cannot bind; see host_saturated per invocation and the report's saturation caveat): events-512mb-b1-rc10 (2.9), batch-2048mb-p8mb-rc0 (3.5)",
    "10 × 0.29 and 3 × 1.16 do not",
  );
});
