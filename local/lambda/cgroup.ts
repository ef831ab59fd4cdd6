import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { LAMBDA } from "../../core/constants";

/** CFS period used for every environment, µs (the kernel default). */
export const CFS_PERIOD_US = 100_000;

/**
 * The CFS quota that gives an environment `memoryMb / 1769` of a CPU, as Lambda does
 * (1 vCPU at 1,769 MB), per {@link CFS_PERIOD_US}. Never below the kernel's 1 ms minimum.
 */
export function cpuQuotaUs(memoryMb: number, periodUs: number = CFS_PERIOD_US): number {
  return Math.max(1000, Math.round((periodUs * memoryMb) / LAMBDA.mbPerVcpu));
}

/** Per-environment CPU cgroups under one parent cgroup owned by this process. */
export interface CpuCgroups {
  /** `v2` (cpu.max) or `v1` (cpu.cfs_quota_us). */
  readonly version: "v1" | "v2";
  /** The parent cgroup directory. */
  readonly parentDir: string;
  /** Creates the environment's cgroup with its quota and moves `pid` into it. */
  place(environmentId: string, pid: number, memoryMb: number): void;
  /**
   * CPU time the environment's cgroup used so far, µs (v2 `cpu.stat` `usage_usec`); undefined
   * where the hierarchy does not count it (v1's cpu controller does not: cpuacct does).
   */
  usageUs(environmentId: string): number | undefined;
  /** Removes an environment's cgroup (after its process has exited). */
  remove(environmentId: string): void;
  /** Removes every environment cgroup and the parent. */
  removeAll(): void;
}

const PREFIX = "s3x-lambda-";

/**
 * Sets up CPU cgroups if the machine lets us: a cgroup v2 hierarchy with the cpu controller that
 * we can delegate, else a writable cgroup v1 cpu hierarchy. Returns undefined when neither works
 * (then CPU scaling is not emulated). `mountsFile` and the roots are injectable for tests.
 */
export function setUpCpuCgroups(mountsFile = "/proc/self/mounts"): CpuCgroups | undefined {
  let mounts: string;
  try {
    mounts = readFileSync(mountsFile, "utf8");
  } catch {
    return undefined;
  }
  const entries = mounts.split("\n").map((l) => l.split(" "));
  const v2 = entries.find((e) => e[2] === "cgroup2")?.[1];
  const v1 = entries.find((e) => e[2] === "cgroup" && (e[3] ?? "").split(",").includes("cpu"))?.[1];
  if (v2 !== undefined) {
    const made = tryV2(v2);
    if (made) return made;
  }
  if (v1 !== undefined) return tryV1(v1);
  return undefined;
}

function parentName(): string {
  return `${PREFIX}${process.pid}`;
}

/** Removes parents left by runtimes that died without cleaning up (their pid is gone). */
function sweepStale(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^s3x-lambda-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    removeTree(join(root, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return e instanceof Error && "code" in e && e.code === "EPERM";
  }
}

function removeTree(dir: string): void {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) removeTree(join(dir, entry.name));
    }
    rmdirSync(dir);
  } catch {
    // Busy or already gone: a cgroup with live processes cannot be removed, leave it.
  }
}

function tryV2(root: string): CpuCgroups | undefined {
  try {
    if (!readFileSync(join(root, "cgroup.controllers"), "utf8").split(/\s+/).includes("cpu"))
      return undefined;
    const subtree = readFileSync(join(root, "cgroup.subtree_control"), "utf8");
    if (!subtree.split(/\s+/).includes("cpu"))
      writeFileSync(join(root, "cgroup.subtree_control"), "+cpu");
    sweepStale(root);
    const parentDir = join(root, parentName());
    mkdirSync(parentDir, { recursive: true });
    writeFileSync(join(parentDir, "cgroup.subtree_control"), "+cpu");
    return makeCgroups("v2", parentDir);
  } catch {
    return undefined;
  }
}

function tryV1(root: string): CpuCgroups | undefined {
  try {
    if (!existsSync(join(root, "cpu.cfs_quota_us"))) return undefined;
    sweepStale(root);
    const parentDir = join(root, parentName());
    mkdirSync(parentDir, { recursive: true });
    // Probe: a child cgroup whose quota we can write proves the controller is ours to use.
    const probe = join(parentDir, "probe");
    mkdirSync(probe, { recursive: true });
    writeFileSync(join(probe, "cpu.cfs_quota_us"), String(CFS_PERIOD_US));
    rmdirSync(probe);
    return makeCgroups("v1", parentDir);
  } catch {
    return undefined;
  }
}

function makeCgroups(version: "v1" | "v2", parentDir: string): CpuCgroups {
  const dirOf = (id: string) => join(parentDir, `env-${id}`);
  return {
    version,
    parentDir,
    place(environmentId, pid, memoryMb) {
      const dir = dirOf(environmentId);
      mkdirSync(dir, { recursive: true });
      const quota = cpuQuotaUs(memoryMb);
      if (version === "v2") {
        writeFileSync(join(dir, "cpu.max"), `${quota} ${CFS_PERIOD_US}`);
      } else {
        writeFileSync(join(dir, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
        writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
      }
      writeFileSync(join(dir, "cgroup.procs"), String(pid));
    },
    usageUs(environmentId) {
      if (version !== "v2") return undefined;
      try {
        const stat = readFileSync(join(dirOf(environmentId), "cpu.stat"), "utf8");
        const m = /^usage_usec (\d+)$/m.exec(stat);
        return m?.[1] === undefined ? undefined : Number(m[1]);
      } catch {
        return undefined;
      }
    },
    remove(environmentId) {
      removeTree(dirOf(environmentId));
    },
    removeAll() {
      removeTree(parentDir);
    },
  };
}
