/**
 * `PulumiDeployer` (`--backend aws`): one ephemeral stack per cell through the Pulumi
 * Automation API, with an inline program creating the same IngestCell as `index.ts`. State
 * lives in a file backend inside the run directory and secrets use the passphrase provider,
 * so no Pulumi Cloud login is needed. The Automation API sits behind {@link AutomationSeam} so
 * the lifecycle is testable without the Pulumi CLI.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalWorkspace, type PulumiFn } from "@pulumi/pulumi/automation";
import { type Cell, type CellSettings, cellId } from "../core/cell";
import { PROJECT_ROOT } from "../core/paths";
import { RUN_FILES } from "../core/run-files";
import { ingestCellProgram } from "../infra/ingest-cell-program";
import type { DeployedCell, Deployer } from "./deployer";

/** Pulumi project name of the ephemeral stacks. */
export const PROJECT_NAME = "s3-ingestion-experiment";

/** One stack, as the deployer drives it. */
export interface StackHandle {
  setConfig(key: string, value: string): Promise<void>;
  /** Runs `up`; resolves with the stack outputs' values. */
  up(onOutput: (out: string) => void, signal?: AbortSignal): Promise<Record<string, unknown>>;
  destroy(onOutput: (out: string) => void, signal?: AbortSignal): Promise<void>;
  /** Cancels the stack's running operation. */
  cancel(): Promise<void>;
  /** Removes the (destroyed) stack from the state backend. */
  remove(): Promise<void>;
}

/** What a stack needs to exist. */
export interface StackArgs {
  readonly stackName: string;
  readonly projectName: string;
  readonly program: PulumiFn;
  /** The stack's own work dir. */
  readonly workDir: string;
  /** PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ... */
  readonly envVars: Readonly<Record<string, string>>;
}

/** The narrow seam over the Automation API. */
export interface AutomationSeam {
  installPlugin(
    name: string,
    version: string,
    workDir: string,
    envVars: Readonly<Record<string, string>>,
  ): Promise<void>;
  createOrSelectStack(args: StackArgs): Promise<StackHandle>;
}

/** The real seam: `LocalWorkspace` (needs the Pulumi CLI on PATH). */
export const localWorkspaceSeam: AutomationSeam = {
  async installPlugin(name, version, workDir, envVars) {
    const ws = await LocalWorkspace.create({
      workDir,
      envVars: { ...envVars },
      projectSettings: { name: PROJECT_NAME, runtime: "nodejs" },
    });
    await ws.installPlugin(name, version);
  },
  async createOrSelectStack(args) {
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: args.stackName, projectName: args.projectName, program: args.program },
      {
        workDir: args.workDir,
        envVars: { ...args.envVars },
        secretsProvider: "passphrase",
        projectSettings: {
          name: args.projectName,
          runtime: "nodejs",
          backend: { url: args.envVars.PULUMI_BACKEND_URL ?? "" },
        },
      },
    );
    return {
      setConfig: (key, value) => stack.setConfig(key, { value }),
      async up(onOutput, signal) {
        const result = await stack.up({ onOutput, ...(signal === undefined ? {} : { signal }) });
        return Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
      },
      async destroy(onOutput, signal) {
        await stack.destroy({ onOutput, ...(signal === undefined ? {} : { signal }) });
      },
      cancel: () => stack.cancel(),
      remove: () => stack.workspace.removeStack(args.stackName),
    };
  },
};

/** The installed @pulumi/aws version: the provider plugin version to install. */
export function pulumiAwsVersion(): string {
  const pkg = JSON.parse(
    readFileSync(join(PROJECT_ROOT, "node_modules", "@pulumi", "aws", "package.json"), "utf8"),
  ) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("cannot read the @pulumi/aws version");
  return pkg.version;
}

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

/** Options of {@link PulumiDeployer}. */
export interface PulumiDeployerOptions {
  readonly runDir: string;
  /** The run's name (the run directory's basename): part of every stack name. */
  readonly runName: string;
  readonly settings: CellSettings;
  readonly passphrase: Passphrase;
  readonly seam?: AutomationSeam;
  /** The inline program of a cell; default the IngestCell program. */
  readonly program?: (cell: Cell, settings: CellSettings) => PulumiFn;
  readonly pluginVersion?: string;
  /** Environment passed to Pulumi besides the backend and passphrase (e.g. AWS_PROFILE). */
  readonly env?: NodeJS.ProcessEnv;
}

function str(v: unknown, name: string): string {
  if (typeof v !== "string" || v === "") throw new Error(`stack output ${name} is missing`);
  return v;
}

/** Deploys cells as ephemeral Pulumi stacks. */
export class PulumiDeployer implements Deployer {
  readonly backend = "aws" as const;
  private readonly seam: AutomationSeam;
  private readonly stacks = new Map<string, Promise<StackHandle>>();
  private readonly envVars: Readonly<Record<string, string>>;

  constructor(private readonly o: PulumiDeployerOptions) {
    this.seam = o.seam ?? localWorkspaceSeam;
    const stateDir = join(o.runDir, ".pulumi-state");
    mkdirSync(stateDir, { recursive: true });
    mkdirSync(join(o.runDir, RUN_FILES.logsDir), { recursive: true });
    const passthrough: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.env ?? process.env)) {
      if (v !== undefined && (k.startsWith("AWS_") || k === "PATH" || k === "HOME")) {
        passthrough[k] = v;
      }
    }
    this.envVars = {
      ...passthrough,
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: o.passphrase.value,
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
  }

  /** The env vars every workspace gets (tests check the backend and passphrase). */
  get workspaceEnv(): Readonly<Record<string, string>> {
    return this.envVars;
  }

  /** Stack name of a cell in this run. */
  stackName(cell: Cell): string {
    return stackName(this.o.runName, cell);
  }

  /** Installs the aws plugin once, before cells deploy in parallel. */
  async prepare(): Promise<void> {
    const workDir = join(this.o.runDir, ".pulumi-work", "_prepare");
    mkdirSync(workDir, { recursive: true });
    await this.seam.installPlugin(
      "aws",
      `v${this.o.pluginVersion ?? pulumiAwsVersion()}`,
      workDir,
      this.envVars,
    );
  }

  private log(cell: Cell): (out: string) => void {
    const file = join(this.o.runDir, RUN_FILES.logsDir, `${cellId(cell)}.log`);
    return (out) => appendFileSync(file, out);
  }

  private stack(cell: Cell): Promise<StackHandle> {
    const name = this.stackName(cell);
    let handle = this.stacks.get(name);
    if (handle === undefined) {
      const workDir = join(this.o.runDir, ".pulumi-work", name);
      mkdirSync(workDir, { recursive: true });
      const program = (this.o.program ?? ((c, s) => ingestCellProgram(c, s)))(
        cell,
        this.o.settings,
      );
      handle = this.seam
        .createOrSelectStack({
          stackName: name,
          projectName: PROJECT_NAME,
          program,
          workDir,
          envVars: this.envVars,
        })
        .then(async (h) => {
          await h.setConfig("aws:region", this.o.settings.region);
          return h;
        });
      handle.catch(() => this.stacks.delete(name));
      this.stacks.set(name, handle);
    }
    return handle;
  }

  /** Runs `op` on a stack, cancelling the stack's operation when `signal` aborts. */
  private async cancellable<T>(
    h: StackHandle,
    signal: AbortSignal | undefined,
    op: () => Promise<T>,
  ): Promise<T> {
    const onAbort = (): void => {
      h.cancel().catch(() => undefined);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      return await op();
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async deploy(cell: Cell, signal?: AbortSignal): Promise<DeployedCell> {
    const h = await this.stack(cell);
    const outputs = await this.cancellable(h, signal, () => h.up(this.log(cell), signal));
    return {
      cellId: cellId(cell),
      functionName: str(outputs.functionName, "functionName"),
      bucket: str(outputs.bucketName, "bucketName"),
      logGroup: str(outputs.logGroupName, "logGroupName"),
      region: this.o.settings.region,
      endpoints: {},
    };
  }

  async destroy(cell: Cell, signal?: AbortSignal): Promise<void> {
    const h = await this.stack(cell);
    await this.cancellable(h, signal, () => h.destroy(this.log(cell), signal));
    await h.remove();
    this.stacks.delete(this.stackName(cell));
  }

  async close(): Promise<void> {
    this.stacks.clear();
  }
}
