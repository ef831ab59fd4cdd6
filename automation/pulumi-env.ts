/**
 * What each Pulumi stack of a run is given besides its program: its name, the secrets
 * passphrase (from the environment or generated into the run directory) and the part of our
 * environment the Pulumi CLI may see.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Cell, cellId } from "../core/cell";

/** Where the secrets passphrase came from. */
export interface Passphrase {
  readonly value: string;
  /** `env` (PULUMI_CONFIG_PASSPHRASE) or the file it was generated into. */
  readonly source: string;
}

/** File in the run directory holding a generated passphrase. */
export const PASSPHRASE_FILE = ".pulumi-passphrase";

/**
 * The passphrase of the run's secrets provider: PULUMI_CONFIG_PASSPHRASE when set, else one
 * generated once and saved (mode 600) in the run directory, so that `--resume` and
 * `--cleanup` can open the same stacks.
 */
export function resolvePassphrase(runDir: string, env: NodeJS.ProcessEnv): Passphrase {
  const fromEnv = env.PULUMI_CONFIG_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: "env" };
  const file = join(runDir, PASSPHRASE_FILE);
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString("hex"), { mode: 0o600 });
  return { value: readFileSync(file, "utf8").trim(), source: file };
}

/** A Pulumi stack name for a cell of a run: `[A-Za-z0-9_.-]` only. */
export function stackName(runName: string, cell: Cell): string {
  return `${runName}-${cellId(cell)}`.replace(/[^A-Za-z0-9_.-]/g, "-");
}

/**
 * Variables of our environment the Pulumi CLI and its aws plugin see besides the ones the
 * deployer sets; nothing else reaches them (e.g. no GITHUB_TOKEN, no NODE_OPTIONS, no stray
 * PULUMI_BACKEND_URL). AWS_* carries the credentials and profile, HOME finds ~/.aws and
 * ~/.pulumi (PULUMI_HOME moves the latter), the proxy and CA variables let the plugin download
 * and the provider reach AWS behind a corporate proxy.
 */
export const PULUMI_ENV_PASSTHROUGH: readonly string[] = [
  "PATH",
  "HOME",
  "TMPDIR",
  "PULUMI_HOME",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
];

/** The part of `env` in {@link PULUMI_ENV_PASSTHROUGH} or starting with `AWS_`. */
export function pulumiPassthroughEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (k.startsWith("AWS_") || PULUMI_ENV_PASSTHROUGH.includes(k))) {
      out[k] = v;
    }
  }
  return out;
}
