/**
 * `PulumiDeployer` (`--backend aws`): one ephemeral stack per cell through the Pulumi
 * Automation API, with an inline program creating the same IngestCell as `index.ts`. State
 * lives in a file backend inside the run directory and secrets use the passphrase provider,
 * so no Pulumi Cloud login is needed. The Automation API sits behind {@link AutomationSeam} so
 * the lifecycle is testable without the Pulumi CLI.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LocalWorkspace, type PulumiFn } from "@pulumi/pulumi/automation";
import { type Cell, type CellSettings, cellId } from "../core/cell";
import type { DeployedCell, Deployer } from "../core/deployer";
import { PROJECT_ROOT } from "../core/paths";
import { RUN_FILES } from "../core/run-files";
import { ingestCellProgram } from "../infra/ingest-cell-program";
import { detachedPulumiCommand } from "./pulumi-cli";
import { type Passphrase, pulumiPassthroughEnv, stackName } from "./pulumi-env";

/** Pulumi project name of the ephemeral stacks. */
export const PROJECT_NAME = "s3-ingestion-experiment";

/** One stack, as the deployer drives it. */
export interface StackHandle {
  setConfig(key: string, value: string): Promise<void>;
  /** Runs `up`; resolves with the stack outputs' values. */
  up(onOutput: (out: string) => void, signal?: AbortSignal): Promise<Record<string, unknown>>;
  /**
   * Runs `destroy`. An abort of `signal` (in `up` too) sends the CLI one SIGINT, Pulumi's
   * graceful cancel. There is deliberately no `stack.cancel()`: on a file backend it only
   * removes the lock, under a CLI that is still running.
   */
  destroy(onOutput: (out: string) => void, signal?: AbortSignal): Promise<void>;
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

let pulumiCommand: ReturnType<typeof detachedPulumiCommand> | undefined;

/** The CLI every workspace runs, looked up (and version-checked) once per process. */
function cli(): ReturnType<typeof detachedPulumiCommand> {
  pulumiCommand ??= detachedPulumiCommand();
  pulumiCommand.catch(() => {
    pulumiCommand = undefined;
  });
  return pulumiCommand;
}

/**
 * The real seam: `LocalWorkspace` (needs the Pulumi CLI on PATH), run through
 * {@link detachedPulumiCommand}: the CLI in its own process group, so a Ctrl-C reaches it
 * exactly once (the SIGINT we send when the run's signal aborts), and with exactly the
 * environment in `envVars`.
 */
export const localWorkspaceSeam: AutomationSeam = {
  async installPlugin(name, version, workDir, envVars) {
    const ws = await LocalWorkspace.create({
      pulumiCommand: await cli(),
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
        pulumiCommand: await cli(),
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

/** Options of {@link PulumiDeployer}. */
export interface PulumiDeployerOptions {
  readonly runDir: string;
  /** The run's name (the run directory's basename): part of every stack name. */
  readonly runName: string;
  readonly settings: CellSettings;
  readonly passphrase: Passphrase;
  readonly seam?: AutomationSeam;
  /** The inline program of a cell's deploy attempt; default the IngestCell program. */
  readonly program?: (cell: Cell, settings: CellSettings, attempt: number) => PulumiFn;
  readonly pluginVersion?: string;
  /**
   * The environment to take {@link PULUMI_ENV_PASSTHROUGH} and AWS_* from (default
   * process.env); the CLI gets those, the backend and the passphrase, and nothing else.
   */
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
  /** The deploy attempt each stack's next `up` runs the program for, by stack name. */
  private readonly attempts = new Map<string, number>();
  private readonly envVars: Readonly<Record<string, string>>;

  constructor(private readonly o: PulumiDeployerOptions) {
    this.seam = o.seam ?? localWorkspaceSeam;
    const stateDir = join(o.runDir, ".pulumi-state");
    mkdirSync(stateDir, { recursive: true });
    mkdirSync(join(o.runDir, RUN_FILES.logsDir), { recursive: true });
    this.envVars = {
      ...pulumiPassthroughEnv(o.env ?? process.env),
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
      const make =
        this.o.program ??
        ((c: Cell, s: CellSettings, attempt: number) =>
          ingestCellProgram(c, s, { deployAttempt: attempt }));
      // The program runs at `up`, for the attempt that `up` is: one stack per cell, whose
      // resources get new names on a redeploy.
      const program: PulumiFn = () => make(cell, this.o.settings, this.attempts.get(name) ?? 1)();
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

  async deploy(cell: Cell, signal?: AbortSignal, attempt = 1): Promise<DeployedCell> {
    this.attempts.set(this.stackName(cell), attempt);
    const h = await this.stack(cell);
    signal?.throwIfAborted();
    const outputs = await h.up(this.log(cell), signal);
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
    signal?.throwIfAborted();
    await h.destroy(this.log(cell), signal);
    await h.remove();
    this.stacks.delete(this.stackName(cell));
  }

  async close(): Promise<void> {
    this.stacks.clear();
  }
}
