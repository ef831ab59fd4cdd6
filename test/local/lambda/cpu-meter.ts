import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { quotaCores } from "../../../core/constants";
import {
  formatLocalCpu,
  HOST_MIN_WINDOW_MS,
  HostLoad,
  hostCpuTicks,
  parseLocalCpu,
  processCpuUs,
} from "../../../local/lambda/cpu-meter";

function tempDir(t: tap.Test): string {
  const dir = mkdtempSync(join(tmpdir(), "cpu-meter-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("an environment's quota is memory/1769 of a core", async (t) => {
  t.equal(quotaCores(1769), 1, "one core");
  t.equal(Number(quotaCores(512).toFixed(4)), 0.2894, "512 MB");
});

t.test("/proc/stat: busy is everything but idle and iowait", async (t) => {
  const dir = tempDir(t);
  const stat = join(dir, "stat");
  writeFileSync(stat, "cpu  100 5 20 800 50 3 2 10 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n");
  t.same(hostCpuTicks(stat), { busy: 140, total: 990 }, "busy 100+5+20+3+2+10 of 990");
  t.equal(hostCpuTicks(join(dir, "missing")), undefined, "no file");
});

t.test("a process's CPU: its threads' schedstat, else utime + stime", async (t) => {
  const proc = tempDir(t);
  mkdirSync(join(proc, "42", "task", "42"), { recursive: true });
  mkdirSync(join(proc, "42", "task", "43"), { recursive: true });
  writeFileSync(join(proc, "42", "task", "42", "schedstat"), "3000000 100 7\n");
  writeFileSync(join(proc, "42", "task", "43", "schedstat"), "1500000 10 2\n");
  t.same(processCpuUs(42, proc), { us: 4500, source: "schedstat" }, "4.5 ms over two threads");
  mkdirSync(join(proc, "7"), { recursive: true });
  // utime 12 and stime 3 ticks (fields 14 and 15), a command with a space in it.
  writeFileSync(join(proc, "7", "stat"), "7 (node x) S 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0\n");
  t.same(processCpuUs(7, proc), { us: 150_000, source: "stat" }, "15 ticks of 10 ms");
  t.equal(processCpuUs(99, proc), undefined, "a gone process");
  const own = processCpuUs(process.pid);
  t.ok(own !== undefined && own.us > 0, "this process has used some CPU");
});

t.test("the host busy share covers at least the minimum window before now", async (t) => {
  const dir = tempDir(t);
  const stat = join(dir, "stat");
  let now = 10_000;
  writeFileSync(stat, "cpu  0 0 0 1000 0 0 0 0\n");
  const load = new HostLoad(stat, () => now);
  t.teardown(() => load.stop());
  now += HOST_MIN_WINDOW_MS;
  // 200 ticks later (2 cores × 1 s), 190 of them busy.
  writeFileSync(stat, "cpu  190 0 0 1010 0 0 0 0\n");
  t.equal(load.busyShareSince(now - 5), 0.95, "190 of 200 ticks busy");
});

t.test("the header value round-trips and rejects what is not one", async (t) => {
  const cpu = {
    cpu_ms: 12.34567,
    quota_share: 0.987654,
    host_busy_share: 0.912345,
    host_saturated: true,
    source: "cgroup" as const,
  };
  t.same(
    parseLocalCpu(formatLocalCpu(cpu)),
    { ...cpu, cpu_ms: 12.346, quota_share: 0.9877, host_busy_share: 0.9123 },
    "rounded to µs and 4 digits",
  );
  t.equal(parseLocalCpu("not json"), undefined, "not JSON");
  t.equal(parseLocalCpu('{"cpu_ms":"1"}'), undefined, "wrong types");
  t.equal(parseLocalCpu(undefined), undefined, "absent");
});
