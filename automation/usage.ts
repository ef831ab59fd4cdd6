/** `npx ts-node automation/run.ts --help`: the usage text, which loads nothing heavy. */
import { DEFAULT_CELL_SETTINGS } from "../core/cell";
import {
  ARCHITECTURES,
  DEFAULT_NETWORK_MBPS,
  DEFAULT_S3_LATENCY_MS,
  EVENT_BYTES,
  LOOP_DEFAULTS,
} from "../core/constants";
import { MATRIX_SYNTAX } from "../core/matrix";
import { PRECISION_DEFAULTS } from "../core/precision";
import { DEFAULT_INVOCATIONS, formatPerWorkload } from "../core/workloads";
import { PER_WORKLOAD_EXAMPLE } from "./load-flags";
import { localConcurrency } from "./local-capacity";
import { MEMORY_ROOT } from "./local-s3-storage";
import { AWS_DEFAULT_PARALLEL, LOCAL_DEFAULTS, OPEN_LOOP } from "./run-defaults";

/** `--help` text. */
export const USAGE = `Usage: npx ts-node automation/run.ts [flags]

Runs the factorial experiment: for each cell deploy -> trials x invocations -> harvest -> destroy,
and writes a run directory that \`npm run analyze\` reads.

  --matrix SPEC        ${MATRIX_SYNTAX} (default full)
  --invocations N      invocations per trial, both workloads; or per workload:
                       ${PER_WORKLOAD_EXAMPLE} (default ${formatPerWorkload(DEFAULT_INVOCATIONS)} on aws;
                       ${formatPerWorkload(LOCAL_DEFAULTS.invocations)} on local)
  --trials T           trials per cell, each with its own run_id (default ${LOOP_DEFAULTS.trials} aws, ${LOCAL_DEFAULTS.trials} local)
  --concurrency C      offered client concurrency, both workloads; or per workload: ${PER_WORKLOAD_EXAMPLE}
                       (default ${LOOP_DEFAULTS.concurrency} on aws; on local ${formatPerWorkload(localConcurrency())} on this
                       host: events only as many as its cores hold at 2048 MB's CPU quota)
                       --invocations and --concurrency make the closed loop (the default): C slots,
                       each sending its next invocation when the previous one returns
  --arrival-rate R     open loop instead: Poisson arrivals, R invocations per second (${OPEN_LOOP.minRate}-${OPEN_LOOP.maxRate}),
                       seeded from --seed, each sent at its time whatever is in flight; needs
                       --duration, excludes --invocations and --concurrency
  --duration S         open loop: seconds of arrivals per trial (1-${OPEN_LOOP.maxDurationS}; R x S <= ${OPEN_LOOP.maxExpectedPerTrial})
  --warmup N           warm-up invocations per cell before trial 1, recorded as trial 0 and
                       excluded from warm statistics; 0 turns it off (default: one per slot the
                       trials use, min(C, N) closed loop per workload; ${LOOP_DEFAULTS.concurrency} open loop, sent all at once)
  --precision X        the plan says how many invocations a cell needs for +-X % on its warm p95
                       (default ${PRECISION_DEFAULTS.relativePct})
  --sigma S            the log-normal spread (sigma of ln latency) that figure assumes (default ${PRECISION_DEFAULTS.sigma})
  --backend B          local (default: embedded S3 + Lambda runtime) or aws (Pulumi Automation API)
  --region R           AWS region (default $AWS_REGION, else ${DEFAULT_CELL_SETTINGS.region})
  --architecture A     ${ARCHITECTURES.join(" or ")} (default ${DEFAULT_CELL_SETTINGS.architecture})
  --object-mb M        batch object size in MiB (default ${DEFAULT_CELL_SETTINGS.objectMb})
  --event-bytes B      bytes per event, ${EVENT_BYTES.min}-${EVENT_BYTES.max} (default ${EVENT_BYTES.default})
  --parallel P         cells deployed and run at once (default ${AWS_DEFAULT_PARALLEL} aws, ${LOCAL_DEFAULTS.parallel} local)
  --local-network-mbps N|off
                       local: each environment's bandwidth ceiling to S3 per direction, Mbit/s
                       (default ${DEFAULT_NETWORK_MBPS}, Lambda's ≈ 78 MB/s); off for none
  --local-s3-latency-ms L
                       local: added before each S3 response, ms (default ${DEFAULT_S3_LATENCY_MS}); 0 for none
  --local-s3-storage auto|memory|disk
                       local: the S3 server's data in memory (${MEMORY_ROOT}, kept out of the figures) or
                       on disk; auto (default): memory when it has room for the run
  --seed S             seed of the randomised cell order and of the open loop's arrivals
                       (default: random, recorded)
  --name-prefix P      prefix of every function name (NAME_PREFIX)
  --out DIR            run directory (default results/<timestamp>-<backend>)
  --resume DIR         finish an interrupted run: skips done cells, redoes unfinished ones
                       (flags come from DIR/manifest.json; only --yes and --parallel allowed)
  --cleanup DIR        destroy everything DIR/ledger.jsonl says may still be live
  --reharvest DIR      collect again the records of DIR's runs that were left incomplete
                       (CloudWatch Logs keeps the cells' log groups); exit 0 when nothing is
                       missing any more, 1 when records still are
  --dry-run            print the plan and cost estimate, create nothing; needs neither the
                       Pulumi CLI nor AWS credentials (the real run checks both first)
  --yes                do not ask for confirmation (--backend aws)
  -h, --help           this text

Exit codes: 0 success, 1 a cell or the run failed, 2 bad flags, 130 interrupted.
`;
