import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../core/paths";

/**
 * Runs one of the project's TypeScript entry points as a user would (`npx ts-node <script>`,
 * Node 22, from the project root), collecting stdout and stderr together.
 *
 * Through env(1) without NODE_OPTIONS: tap adds its loader hooks to every node child it sees,
 * and those would load the script as an ES module, bypassing ts-node. env execs node, so the
 * child's pid is the script's own. `detached` puts it in a process group of its own, so a test
 * can signal that group as a terminal does on Ctrl-C.
 */
export function spawnProjectScript(
  script: string,
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly detached?: boolean } = {},
): ChildProcess & { output: () => string } {
  const child = spawn(
    "/usr/bin/env",
    [
      "-u",
      "NODE_OPTIONS",
      process.execPath,
      require.resolve("ts-node/dist/bin.js"),
      join(PROJECT_ROOT, script),
      ...args,
    ],
    {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
      detached: options.detached ?? false,
    },
  );
  let output = "";
  const collect = (c: Buffer): void => {
    output += c.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return Object.assign(child, { output: () => output });
}
