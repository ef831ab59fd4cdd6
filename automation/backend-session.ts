/**
 * A run directory's backend: the deployer, harvester and teardown of the local backend or of
 * AWS (Pulumi), opened for one run and stopped at its end; and the cells and settings a stored
 * manifest gives back. The backends load here, on demand, so --help and bad flags never do.
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { Cell, CellSettings } from "../core/cell";
import type { Deployer } from "../core/deployer";
import { functionName } from "../core/names";
import type { Backend, Manifest } from "../core/run-files";
import type { LocalBackend } from "../local/backend";
import type { NetworkEmulation } from "../local/lambda/network";
import type { Harvester } from "./harvest";
import type { AwsHarvesterOptions } from "./harvest-aws";
import { chooseS3Storage, releaseS3Storage, type S3StorageRequest } from "./local-s3-storage";
import type { LocalFidelity } from "./manifest";
import type { RunIo } from "./run-io";

/** Local-backend fidelity notes recorded in the manifest. */
function localNotes(
  cpuScaling: boolean,
  accountConcurrency: number,
  networkNote: string,
  storageNote: string,
): string[] {
  return [
    storageNote,
    networkNote,
    cpuScaling
      ? "CPU share proportional to memory is emulated with cgroups"
      : "CPU share proportional to memory is NOT emulated (no writable cgroups): memory effects on speed are not reproduced",
    `account concurrency (unreserved pool) is ${accountConcurrency}; reserved concurrency is enforced with 429 TooManyRequestsException`,
    "cold starts are Node.js process starts on this machine, not Firecracker microVMs",
    "the cost estimate is what the same run would cost on AWS; nothing is billed locally",
  ];
}

/** A short, stable per-run suffix of local bucket names (so resume finds the same buckets). */
function bucketSuffix(runName: string): string {
  return createHash("sha256").update(runName).digest("hex").slice(0, 6);
}

/** The manifest's cells in its run order. */
export function cellsOfManifest(manifest: Manifest): Cell[] {
  const byId = new Map(manifest.cells.map((c) => [c.cell_id, c.cell]));
  return manifest.cell_order.flatMap((id) => {
    const cell = byId.get(id);
    return cell === undefined ? [] : [cell];
  });
}

/** The cell settings a manifest records. */
export function settingsOfManifest(m: Manifest): CellSettings {
  return {
    eventBytes: m.event_bytes,
    objectMb: m.object_mb,
    architecture: m.architecture,
    namePrefix: m.name_prefix,
    ...(m.run_tag === undefined ? {} : { runTag: m.run_tag }),
    region: m.region,
  };
}

/**
 * Harvest timings for the local CloudWatch Logs server: its store is written synchronously, so
 * lag is short; a few seconds still cover lines written just after the last response.
 */
const LOCAL_HARVEST_TIMINGS: AwsHarvesterOptions = {
  pollMs: 50,
  retryMs: 250,
  queryTimeoutMs: 10_000,
  lagDeadlineMs: 3_000,
  slackMs: 5_000,
};

/** A backend's deployer, harvester and teardown, for one run directory. */
export interface BackendSession {
  readonly deployer: Deployer;
  harvesterFor(region: string): Harvester;
  resourceName(cell: Cell, attempt: number): string;
  readonly local?: LocalFidelity;
  stop(): Promise<void>;
}

/** A manifest's network emulation back as the runtime's option (none recorded: it had none). */
export function networkOfManifest(m: Manifest): NetworkEmulation | "off" {
  const n = m.local?.network;
  if (n === undefined) return "off";
  return n.mbps === null
    ? { s3LatencyMs: n.s3_latency_ms }
    : { mbps: n.mbps, s3LatencyMs: n.s3_latency_ms };
}

/**
 * Opens `backend` for the run directory `runDir`. `s3`: what the run holds in the local S3
 * server at most and `--local-s3-storage` (local-s3-storage.ts), which decide where its data
 * lives; none keeps it where an earlier attempt of the run left it.
 */
export async function openBackend(
  backend: Backend,
  runDir: string,
  settings: CellSettings,
  io: RunIo,
  network?: NetworkEmulation | "off",
  s3: S3StorageRequest = {},
): Promise<BackendSession> {
  const runName = basename(runDir);
  const { AwsHarvester, cloudWatchLogsApi, harvestLogsClient } = await import("./harvest-aws");
  if (backend === "local") {
    const { startLocalBackend } = await import("../local/backend");
    const { localLogsClient } = await import("../local/logs");
    const { LocalDeployer } = await import("../local/deployer");
    const { LOGS_CLIENT_CONFIG } = await import("./logs-retry");
    const { describeNetwork } = await import("../local/lambda/network");
    const storage = chooseS3Storage(runDir, s3);
    let local: LocalBackend;
    try {
      local = await startLocalBackend({
        dataDir: join(runDir, ".local"),
        s3DataDir: storage.dir,
        ...(network === undefined ? {} : { network }),
      });
    } catch (e: unknown) {
      // Nothing runs against it: memory holds nothing for a later attempt (NoSuchBucket is gone).
      releaseS3Storage(storage);
      throw e;
    }
    const emulated = local.runtime.network;
    const deployer = new LocalDeployer(local, settings, { bucketSuffix: bucketSuffix(runName) });
    // The same harvester as on AWS, against the CloudWatch Logs API the local backend serves.
    // One attempt per call, as on AWS: the harvester's own retries and pacing are what run.
    const logsClient = localLogsClient(local.logs.endpoint, local.logs.region, LOGS_CLIENT_CONFIG);
    const harvester = new AwsHarvester(cloudWatchLogsApi(logsClient), LOCAL_HARVEST_TIMINGS);
    return {
      deployer,
      harvesterFor: () => harvester,
      resourceName: (cell, attempt) =>
        functionName(cell, settings.namePrefix, settings.runTag, attempt),
      local: {
        cpu_scaling_emulated: local.runtime.cpuScalingEmulated,
        account_concurrency: local.runtime.accountConcurrency,
        network: {
          mbps: emulated?.mbps ?? null,
          s3_latency_ms: emulated?.s3LatencyMs ?? 0,
        },
        notes: localNotes(
          local.runtime.cpuScalingEmulated,
          local.runtime.accountConcurrency,
          describeNetwork(emulated),
          storage.note,
        ),
      },
      async stop() {
        await deployer.close();
        logsClient.destroy();
        await local.stop();
        releaseS3Storage(storage);
      },
    };
  }
  const { PulumiDeployer } = await import("./pulumi-deployer");
  const { resolvePassphrase, stackName } = await import("./pulumi-env");
  const passphrase = resolvePassphrase(runDir, io.env);
  io.stdout.write(
    `Pulumi secrets passphrase: ${passphrase.source === "env" ? "from PULUMI_CONFIG_PASSPHRASE" : `generated, saved in ${passphrase.source}`}\n`,
  );
  const deployer = new PulumiDeployer({ runDir, runName, settings, passphrase, env: io.env });
  const clients = new Map<string, CloudWatchLogsClient>();
  return {
    deployer,
    harvesterFor(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = harvestLogsClient(region);
        clients.set(region, client);
      }
      return new AwsHarvester(cloudWatchLogsApi(client));
    },
    resourceName: (cell) => stackName(runName, cell),
    async stop() {
      await deployer.close();
      for (const c of clients.values()) c.destroy();
    },
  };
}
