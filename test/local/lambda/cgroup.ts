import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CFS_PERIOD_US, cpuQuotaUs, setUpCpuCgroups } from "../../../local/lambda/cgroup";

t.test("the CPU quota is memory/1769 of a CPU per 100 ms period", async (t) => {
  t.equal(CFS_PERIOD_US, 100_000, "kernel default period");
  t.equal(cpuQuotaUs(1769), 100_000, "1,769 MB is one full CPU");
  t.equal(cpuQuotaUs(512), 28_943, "512 MB ≈ 0.29 CPU");
  t.equal(cpuQuotaUs(2048), 115_772, "2,048 MB ≈ 1.16 CPU");
  t.equal(cpuQuotaUs(1), 1000, "never below the kernel's 1 ms minimum");
});

t.test("without a usable cgroup mount, CPU scaling is reported as not emulated", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cgroup-test-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mounts = join(dir, "mounts");
  writeFileSync(mounts, `proc /proc proc rw 0 0\ncgroup2 ${join(dir, "nowhere")} cgroup2 rw 0 0\n`);
  t.equal(setUpCpuCgroups(mounts), undefined, "unwritable v2 mount");
  t.equal(setUpCpuCgroups(join(dir, "missing")), undefined, "no mounts file");
});
