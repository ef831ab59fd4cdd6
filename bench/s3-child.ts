/**
 * The server under benchmark as a child process: the real `npm run s3:local` entry bundled by
 * esbuild (no TypeScript compiler in the measured process), its peak RSS and CPU time read from
 * Linux's /proc.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";

/** A process's resource use so far. */
export interface Usage {
  /** Peak resident set size so far, bytes. */
  maxRss: number;
  /** User + system CPU time so far, all threads, seconds. */
  cpuSeconds: number;
}

/** A running server child. */
export interface ChildServer {
  endpoint: string;
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

/**
 * Bundles local/s3/cli.ts with esbuild: the server as users run it, without the TypeScript
 * compiler that ts-node would load into the measured process.
 */
export async function bundleCli(dir: string): Promise<string> {
  const outfile = join(dir, "s3-local.js");
  await build({
    entryPoints: [join(__dirname, "..", "local", "s3", "cli.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    logLevel: "warning",
  });
  return outfile;
}

/** Peak RSS (VmHWM) and CPU time of a process, from Linux's /proc. */
async function procUsage(pid: number): Promise<Usage> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ").pop()?.split(" ") ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { maxRss: Number(hwm?.[1]) * 1024, cpuSeconds: ticks / 100 };
}

/** Starts the bundled server on an ephemeral port with a data directory; resolves once it listens. */
export async function startChild(script: string, dataDir: string): Promise<ChildServer> {
  const proc = spawn(process.execPath, [script, "--port", "0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => resolve(code)),
  );
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  let endpoint: string | undefined;
  while (endpoint === undefined) {
    const { value, done } = await lines.next();
    if (done === true) throw new Error("the server child exited before listening");
    endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(value)?.[1];
  }
  const pid = proc.pid ?? 0;
  return {
    endpoint,
    usage: () => procUsage(pid),
    stop: async () => {
      proc.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) throw new Error(`the server child exited with ${code} on SIGTERM`);
    },
  };
}
