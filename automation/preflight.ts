/**
 * Checks before spending money on AWS: the Pulumi CLI is installed, the AWS credentials are
 * valid, the region is set, the account's concurrency leaves ≥ 100 unreserved with the
 * reserved concurrency of the cells deployed at once, and the unreserved pool holds what the
 * cells without reserved concurrency are offered. Each failure is one clear error.
 */
import { execFile } from "node:child_process";
import type { Cell, Workload } from "../core/cell";
import { LAMBDA, MAX_IN_FLIGHT } from "../core/constants";
import type { LoadModel } from "../core/run-files";
import { formatPerWorkload, samePerWorkload } from "../core/workloads";
import { offeredConcurrency } from "./estimate";

/** A preflight check that failed; the message says what to do. */
export class PreflightError extends Error {
  override readonly name = "PreflightError";
}

/** The calls preflight makes (a seam for tests). */
export interface PreflightApi {
  pulumiVersion(): Promise<string>;
  callerIdentity(region: string): Promise<{ account: string; arn: string }>;
  accountSettings(
    region: string,
  ): Promise<{ concurrentExecutions: number; unreservedConcurrentExecutions: number }>;
}

/**
 * The real calls: `pulumi version`, STS GetCallerIdentity, Lambda GetAccountSettings. The SDK
 * clients load on first use, so the CLI's --help and --dry-run never load them.
 */
export const awsPreflightApi: PreflightApi = {
  pulumiVersion: () =>
    new Promise((resolve, reject) => {
      execFile("pulumi", ["version"], { timeout: 30_000 }, (err, stdout) => {
        if (err === null) resolve(stdout.trim());
        else reject(err);
      });
    }),
  async callerIdentity(region) {
    const { GetCallerIdentityCommand, STSClient } = await import("@aws-sdk/client-sts");
    const out = await new STSClient({ region }).send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? "", arn: out.Arn ?? "" };
  },
  async accountSettings(region) {
    const { GetAccountSettingsCommand, LambdaClient } = await import("@aws-sdk/client-lambda");
    const out = await new LambdaClient({ region }).send(new GetAccountSettingsCommand({}));
    return {
      concurrentExecutions: out.AccountLimit?.ConcurrentExecutions ?? 0,
      unreservedConcurrentExecutions: out.AccountLimit?.UnreservedConcurrentExecutions ?? 0,
    };
  },
};

/** The largest total reserved concurrency of `parallel` cells deployed at once. */
export function peakReservedConcurrency(cells: readonly Cell[], parallel: number): number {
  return cells
    .map((c) => c.reservedConcurrency)
    .sort((a, b) => b - a)
    .slice(0, parallel)
    .reduce((s, rc) => s + rc, 0);
}

/**
 * The concurrency offered to each cell: the closed loop's `--concurrency`, for all or per
 * workload, or per cell (the open loop's, automation/estimate.ts `offeredConcurrency`).
 */
export type Offered = number | Readonly<Record<Workload, number>> | ((cell: Cell) => number);

/** A closed loop's {@link Offered} in words: `20`, or `events=1,batch=20 (each cell at its workload's)`. */
function closedText(concurrency: number | Readonly<Record<Workload, number>>): string {
  if (typeof concurrency === "number") return String(concurrency);
  const same = samePerWorkload(concurrency);
  return same === undefined
    ? `${formatPerWorkload(concurrency)} (each cell at its workload's)`
    : String(same);
}

/** {@link Offered} as a function of the cell. */
function offeredPerCell(concurrency: Offered): (cell: Cell) => number {
  if (typeof concurrency === "number") return () => concurrency;
  if (typeof concurrency === "function") return concurrency;
  return (cell) => concurrency[cell.workload];
}

/**
 * What a run offers its cells, for {@link preflight}: `--concurrency` under the closed loop,
 * each cell's offered concurrency under the open loop.
 */
export function offeredLoad(
  load: LoadModel,
  concurrency: Readonly<Record<Workload, number>>,
  objectMb: number,
  eventBytes: number,
): Offered {
  return load.model === "closed"
    ? concurrency
    : (cell) => offeredConcurrency(cell, load, concurrency[cell.workload], objectMb, eventBytes);
}

/** The worst demand on the account's unreserved pool, see {@link peakUnreservedDemand}. */
export interface UnreservedDemand {
  /** Cells without reserved concurrency deployed at once. */
  readonly cells: number;
  /** Their concurrent executions: `cells` × the offered concurrency. */
  readonly executions: number;
  /** Reserved concurrency of the cells deployed beside them (taken from the same pool). */
  readonly reservedBeside: number;
}

/**
 * What cells without reserved concurrency (level 0) take from the account's unreserved pool,
 * in the worst mix of `parallel` cells deployed at once: the k most demanding, each offered
 * its `concurrency` invocations, beside the largest reserved levels of the other `parallel` − k
 * (deploying those moves their reservation out of the same pool). Zero when no cell is
 * unreserved.
 */
export function peakUnreservedDemand(
  cells: readonly Cell[],
  parallel: number,
  concurrency: Offered,
): UnreservedDemand {
  const offered = offeredPerCell(concurrency);
  // The k most demanding unreserved cells are the worst k to deploy at once.
  const unreserved = cells
    .filter((c) => c.reservedConcurrency === 0)
    .map(offered)
    .sort((a, b) => b - a);
  const reserved = cells.filter((c) => c.reservedConcurrency > 0);
  let worst: UnreservedDemand = { cells: 0, executions: 0, reservedBeside: 0 };
  for (let k = 1; k <= Math.min(parallel, unreserved.length); k++) {
    const d = {
      cells: k,
      executions: unreserved.slice(0, k).reduce((s, n) => s + n, 0),
      reservedBeside: peakReservedConcurrency(reserved, parallel - k),
    };
    if (d.executions + d.reservedBeside > worst.executions + worst.reservedBeside) worst = d;
  }
  return worst;
}

function reason(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** What preflight found, for the run's output. */
export interface PreflightReport {
  readonly pulumi: string;
  readonly account: string;
  readonly arn: string;
  readonly concurrentExecutions: number;
  readonly unreservedConcurrentExecutions: number;
  readonly peakReserved: number;
  /** Concurrent executions the unreserved pool must hold at worst (with what is reserved beside). */
  readonly peakUnreserved: number;
}

/**
 * Runs every check in order; throws {@link PreflightError} at the first failure. `parallel`
 * is the run's `--parallel`; `concurrency` its `--concurrency` (closed loop) or each cell's
 * offered concurrency (open loop: arrival rate × modelled duration, at most MAX_IN_FLIGHT).
 */
export async function preflight(
  api: PreflightApi,
  region: string,
  cells: readonly Cell[],
  parallel: number,
  concurrency: Offered,
): Promise<PreflightReport> {
  if (region.trim() === "") {
    throw new PreflightError("no AWS region: pass --region (e.g. --region us-east-1)");
  }
  let pulumi: string;
  try {
    pulumi = await api.pulumiVersion();
  } catch (e: unknown) {
    throw new PreflightError(
      `the Pulumi CLI is not usable ("pulumi version" failed: ${reason(e)}); install it (https://www.pulumi.com/docs/install/) and put it on PATH`,
    );
  }
  let identity: { account: string; arn: string };
  try {
    identity = await api.callerIdentity(region);
  } catch (e: unknown) {
    throw new PreflightError(
      `AWS credentials are not valid (STS GetCallerIdentity failed: ${reason(e)}); configure them (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`,
    );
  }
  let settings: { concurrentExecutions: number; unreservedConcurrentExecutions: number };
  try {
    settings = await api.accountSettings(region);
  } catch (e: unknown) {
    throw new PreflightError(
      `cannot read the Lambda account settings in ${region} (GetAccountSettings failed: ${reason(e)})`,
    );
  }
  const peak = peakReservedConcurrency(cells, parallel);
  const min = LAMBDA.minUnreservedConcurrency;
  if (peak > 0 && settings.concurrentExecutions < min + 1) {
    throw new PreflightError(
      `the account's Lambda concurrency limit in ${region} is ${settings.concurrentExecutions}: reserved concurrency cannot be set at all (${min} must stay unreserved). Request a higher "Concurrent executions" quota in Service Quotas, or run only unreserved cells (--matrix with rc=0) with --parallel × --concurrency ≤ ${settings.unreservedConcurrentExecutions}`,
    );
  }
  if (peak > 0 && settings.unreservedConcurrentExecutions - peak < min) {
    throw new PreflightError(
      `reserved concurrency of ${peak} (the ${parallel} cell(s) deployed at once) would leave ${settings.unreservedConcurrentExecutions - peak} of ${settings.unreservedConcurrentExecutions} unreserved in ${region}; at least ${min} must stay unreserved. Lower --parallel or raise the account's quota`,
    );
  }
  // Unreserved cells measure the function only while the account's pool does not bind: past
  // it, throttles come from the account limit and every reading of them is wrong.
  const demand = peakUnreservedDemand(cells, parallel, concurrency);
  const pool = settings.unreservedConcurrentExecutions;
  if (demand.executions + demand.reservedBeside > pool) {
    const beside =
      demand.reservedBeside > 0
        ? `, beside ${demand.reservedBeside} reserved by the cell(s) deployed with them,`
        : "";
    throw new PreflightError(
      typeof concurrency !== "function"
        ? `${demand.cells} cell(s) without reserved concurrency deployed at once (--parallel ${parallel}) × --concurrency ${closedText(concurrency)} = ${demand.executions} concurrent executions${beside} but the unreserved pool in ${region} holds ${pool} (account limit ${settings.concurrentExecutions}): the account, not the function, would throttle them. Lower --concurrency or --parallel, or request a higher "Concurrent executions" quota in Service Quotas`
        : `${demand.cells} cell(s) without reserved concurrency deployed at once (--parallel ${parallel}) are offered ${demand.executions} concurrent executions (open loop: arrival rate × modelled duration per cell, at most ${MAX_IN_FLIGHT} each)${beside} but the unreserved pool in ${region} holds ${pool} (account limit ${settings.concurrentExecutions}): the account, not the function, would throttle them. Lower --arrival-rate or --parallel, or request a higher "Concurrent executions" quota in Service Quotas`,
    );
  }
  return {
    pulumi,
    account: identity.account,
    arn: identity.arn,
    concurrentExecutions: settings.concurrentExecutions,
    unreservedConcurrentExecutions: settings.unreservedConcurrentExecutions,
    peakReserved: peak,
    peakUnreserved: demand.executions + demand.reservedBeside,
  };
}
