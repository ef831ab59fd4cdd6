import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Architecture,
  type Cell,
  cellId,
  cellOutput,
  cellRecordFields,
  forCell,
  type PerCell,
} from "../core/cell";
import { LAMBDA } from "../core/constants";
import { type EmfRecord, serializeEmfLine } from "../core/emf";
import { fullMatrix, seededRandom } from "../core/matrix";
import { functionName, objectKey } from "../core/names";
import {
  type Backend,
  type InvocationRecord,
  type JournalEntry,
  type Manifest,
  RUN_FILES,
} from "../core/run-files";
import { sameForAll } from "../core/workloads";
import { LineWriter } from "./lines";

/**
 * A synthetic run directory for tests and the benchmark, built from the contracts only
 * (core/run-files.ts, core/emf.ts): deterministic for a seed, with a plausible latency model
 * (memory speeds things up, larger objects slow them down), throttles at reserved
 * concurrency 10, some failed invocations, optionally dropped records and junk lines.
 */
export interface SyntheticOptions {
  readonly seed: number;
  readonly cells?: readonly Cell[];
  readonly trials?: number;
  /** Invocations per run (cell × trial). */
  readonly invocations?: number;
  readonly backend?: Backend;
  readonly architecture?: Architecture;
  readonly concurrency?: number;
  /** Share of invocations throttled at reserved concurrency 10 (offered concurrency 20). */
  readonly throttleRate?: number;
  /** Share of invocations that fail inside the function (ok = false record). */
  readonly errorRate?: number;
  /** Share of expected records that the "harvest" loses. */
  readonly missingRate?: number;
  /** Junk lines appended to records.jsonl (bad JSON, a foreign log line, a wrong schema). */
  readonly junkLines?: number;
  readonly objectMb?: number;
  readonly eventBytes?: number;
  readonly startMs?: number;
  /**
   * A warm-up run (trial 0, one invocation per concurrency slot, `warmup: true`, all cold)
   * before trial 1 of each cell, as the loop writes it; the measured trials are then warm.
   */
  readonly warmup?: boolean;
  /** Median latency per cell, ms (default {@link modelLatencyMs}); a constant makes an A/A run. */
  readonly medianMs?: (cell: Cell) => number;
  /** Lognormal sigma of a latency around its median (default 0.18). */
  readonly sigma?: number;
  /** Sd of a per-trial ln shift shared by every cell (a block effect; default 0). */
  readonly trialEffectSd?: number;
}

/** What a synthetic run contains, for assertions. */
export interface SyntheticSummary {
  readonly manifest: Manifest;
  readonly runIds: readonly string[];
  readonly invocations: number;
  readonly throttles: number;
  readonly records: number;
  readonly dropped: number;
  readonly junk: number;
}

const HEX = "0123456789abcdef";

function uuid(random: () => number): string {
  let s = "";
  for (let i = 0; i < 32; i++) {
    s += HEX[Math.floor(random() * 16)] ?? "0";
    if (i === 7 || i === 11 || i === 15 || i === 19) s += "-";
  }
  return s;
}

function runIdOf(ms: number, random: () => number): string {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < 6; i++) s += abc[Math.floor(random() * abc.length)] ?? "a";
  return `run_${ms}_${s}`;
}

/** The latency model of each workload: median latency of a cell with `cpu` of a core, ms. */
const LATENCY_MODELS: PerCell<number, [objectMb: number, eventBytes: number, cpu: number]> = {
  events: (cell, _objectMb, eventBytes, cpu) =>
    35 + (cell.batchEvents * eventBytes) / 4000 / cpu + 8 / cpu,
  batch: (cell, objectMb, _eventBytes, cpu) => {
    const partPenalty = cell.multipartMb === 64 && cell.memoryMb <= 512 ? 1.4 : 1;
    return ((objectMb / 78) * 1000 + (objectMb / cell.multipartMb) * 25) * partPenalty + 200 / cpu;
  },
};

/** Median latency of a cell in the model, ms. */
export function modelLatencyMs(cell: Cell, objectMb: number, eventBytes: number): number {
  const cpu = Math.min(1, cell.memoryMb / LAMBDA.mbPerVcpu);
  return forCell(LATENCY_MODELS, cell, objectMb, eventBytes, cpu);
}

/** Writes a synthetic run directory; returns what it contains. */
export function writeSyntheticRun(dir: string, options: SyntheticOptions): SyntheticSummary {
  const random = seededRandom(options.seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const cells = options.cells ?? fullMatrix();
  const trials = options.trials ?? 3;
  const perRun = options.invocations ?? 10;
  const backend = options.backend ?? "local";
  const architecture = options.architecture ?? "arm64";
  const concurrency = options.concurrency ?? 20;
  const throttleRate = options.throttleRate ?? 0.15;
  const errorRate = options.errorRate ?? 0.01;
  const missingRate = options.missingRate ?? 0;
  const objectMb = options.objectMb ?? 100;
  const eventBytes = options.eventBytes ?? 1024;
  const sigma = options.sigma ?? 0.18;
  const firstTrial = options.warmup === true ? 0 : 1;
  const trialShift = Array.from({ length: trials + 1 }, () =>
    options.trialEffectSd === undefined ? 0 : options.trialEffectSd * normal(),
  );
  let clock = options.startMs ?? 1_767_225_600_000;
  mkdirSync(dir, { recursive: true });
  const manifest: Manifest = {
    schema_version: 1,
    tool_version: "0.1.0-synthetic",
    created_at: new Date(clock).toISOString(),
    backend,
    region: "us-east-1",
    architecture,
    matrix: "all",
    cells: cells.map((cell) => ({
      cell_id: cellId(cell),
      cell,
      function_name: functionName(cell),
    })),
    order_seed: options.seed,
    cell_order: cells.map((c) => cellId(c)),
    invocations: sameForAll(perRun),
    trials,
    concurrency: sameForAll(concurrency),
    parallel: 1,
    object_mb: objectMb,
    event_bytes: eventBytes,
    name_prefix: "",
    versions: { node: "22" },
  };
  writeFileSync(join(dir, RUN_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  const journal = new LineWriter(join(dir, RUN_FILES.journal));
  const invocationsOut = new LineWriter(join(dir, RUN_FILES.invocations));
  const recordsOut = new LineWriter(join(dir, RUN_FILES.records));
  const runIds: string[] = [];
  let invocations = 0;
  let throttles = 0;
  let records = 0;
  let dropped = 0;
  const entry = (e: JournalEntry): void => journal.write(`${JSON.stringify(e)}\n`);
  for (const cell of cells) {
    const id = cellId(cell);
    const fn = functionName(cell);
    const median = options.medianMs?.(cell) ?? modelLatencyMs(cell, objectMb, eventBytes);
    entry({ ts: new Date(clock).toISOString(), cell_id: id, phase: "deploying" });
    entry({ ts: new Date(clock).toISOString(), cell_id: id, phase: "deployed" });
    for (let trial = firstTrial; trial <= trials; trial++) {
      const warmup = trial === 0;
      const runInvocations = warmup ? concurrency : perRun;
      const runId = runIdOf(clock, random);
      runIds.push(runId);
      entry({
        ts: new Date(clock).toISOString(),
        cell_id: id,
        phase: "trial-start",
        run_id: runId,
        trial,
      });
      const runStart = clock;
      let waveEnd = runStart;
      for (let seq = 0; seq < runInvocations; seq++) {
        invocations++;
        const requestId = uuid(random);
        const start = runStart + Math.floor(seq / concurrency) * median * 1.05 + random() * 5;
        const base: Omit<
          InvocationRecord,
          "client_start_ms" | "client_end_ms" | "status_code" | "throttled"
        > = {
          run_id: runId,
          cell_id: id,
          function_name: fn,
          workload: cell.workload,
          trial,
          seq,
          ...(warmup ? { warmup: true } : {}),
        };
        if (cell.reservedConcurrency === 10 && random() < throttleRate) {
          throttles++;
          const inv: InvocationRecord = {
            ...base,
            client_start_ms: start,
            client_end_ms: start + 3,
            status_code: 429,
            throttled: true,
            throttle_reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
          };
          invocationsOut.write(`${JSON.stringify(inv)}\n`);
          continue;
        }
        const cold = trial === firstTrial && seq < concurrency;
        const latency =
          Math.round(
            median * Math.exp(sigma * normal() + (trialShift[trial] ?? 0)) * (cold ? 1.3 : 1) * 100,
          ) / 100;
        const ok = random() >= errorRate;
        const end = start + latency;
        const output = cellOutput(cell, { objectMb, eventBytes });
        const rec: EmfRecord = {
          ts_start_ms: Math.round(start),
          ts_end_ms: Math.round(end),
          latency_ms: latency,
          workload: cell.workload,
          run_id: runId,
          function_name: fn,
          region: "us-east-1",
          memory_mb: cell.memoryMb,
          reserved_concurrency: cell.reservedConcurrency,
          events_generated: ok ? output.events : 0,
          object_bytes: ok ? output.objectBytes : 0,
          multipart_parts: ok ? output.parts : 0,
          s3_bucket: "synthetic-bucket",
          s3_key: objectKey(cell.workload, cell.memoryMb, runId, Math.round(end), requestId),
          schema_version: 1,
          request_id: requestId,
          cold_start: cold,
          ok,
          ...(ok ? {} : { error: "SlowDown: Please reduce your request rate." }),
          ...cellRecordFields(cell, { objectMb, eventBytes }),
        };
        const inv: InvocationRecord = {
          ...base,
          request_id: requestId,
          client_start_ms: start - 2,
          client_end_ms: end + 2,
          status_code: 200,
          throttled: false,
          ...(ok ? {} : { function_error: "Unhandled" }),
          ...(backend === "aws"
            ? {
                report: {
                  duration_ms: latency + 0.5,
                  billed_duration_ms: Math.ceil(latency + 0.5),
                  memory_size_mb: cell.memoryMb,
                  max_memory_used_mb: 90,
                  ...(cold ? { init_duration_ms: 180.25 } : {}),
                },
              }
            : {}),
        };
        invocationsOut.write(`${JSON.stringify(inv)}\n`);
        if (random() < missingRate) {
          dropped++;
        } else {
          records++;
          recordsOut.write(serializeEmfLine(rec));
        }
        if (end > waveEnd) waveEnd = end;
      }
      clock = Math.ceil(waveEnd) + 1000;
      entry({
        ts: new Date(clock).toISOString(),
        cell_id: id,
        phase: "trial-done",
        run_id: runId,
        trial,
      });
    }
    entry({ ts: new Date(clock).toISOString(), cell_id: id, phase: "done" });
  }
  const junk = options.junkLines ?? 0;
  const junkLines = [
    "{not json",
    "START RequestId: 8f5a2c1e-4b7d-4e9a-9c3f-1d2e3f4a5b6c Version: $LATEST",
    JSON.stringify({ schema_version: 2, workload: "events", run_id: runIds[0] ?? "" }),
    JSON.stringify({ message: "hello" }),
  ];
  for (let i = 0; i < junk; i++) recordsOut.write(`${junkLines[i % junkLines.length] ?? ""}\n`);
  journal.close();
  invocationsOut.close();
  recordsOut.close();
  return { manifest, runIds, invocations, throttles, records, dropped, junk };
}
