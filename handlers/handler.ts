/**
 * The Lambda function: generates the configured workload's data, writes it to S3, emits
 * one EMF line (success or failure) and returns the seed's response. Bundled by
 * scripts/build-handler.js into dist/handler.js, which both backends load.
 */
import { randomUUID } from "node:crypto";
import { cellOutput, cellRecordFields, functionTimeoutSeconds } from "../core/cell";
import { EMF } from "../core/constants";
import type { EmfRecord } from "../core/emf";
import { InvalidInputError } from "../core/errors";
import {
  functionName,
  newRunId,
  objectKey,
  RUN_ID_INPUT_ALLOWED,
  RUN_ID_INPUT_PATTERN,
} from "../core/names";
import { bodyOf, type Outcome } from "./bodies";
import { emitRecord } from "./metrics";
import { readSettings, type Settings } from "./settings";
import { errorMessage, takeColdStart } from "./util";

/** The invocation event: `{"run_id": "..."}`, or anything without it (a run id is generated). */
export interface HandlerEvent {
  readonly run_id?: string;
}

/** The parts of the Lambda context the handler uses (all optional: local callers pass less). */
export interface HandlerContext {
  readonly functionName?: string;
  readonly awsRequestId?: string;
  readonly getRemainingTimeInMillis?: () => number;
}

/** The seed's response. */
export interface HandlerResponse {
  readonly ok: true;
  readonly run_id: string;
  readonly latency_ms: number;
  readonly s3_key: string;
  readonly object_bytes: number;
  readonly events_generated: number;
  readonly multipart_parts: number;
}

/**
 * Time kept back from the function timeout to abort a multipart upload and write the EMF
 * line before Lambda kills the function, ms: 5% of the remaining time, within [0.5 s, 10 s].
 */
export function deadlineMarginMs(remainingMs: number): number {
  return Math.min(10_000, Math.max(500, Math.round(remainingMs * 0.05)));
}

function runIdOf(event: unknown, nowMs: number): string {
  if (typeof event !== "object" || event === null || !("run_id" in event)) return newRunId(nowMs);
  const raw = (event as { run_id?: unknown }).run_id;
  if (raw === undefined || raw === null) return newRunId(nowMs);
  if (typeof raw !== "string" || !RUN_ID_INPUT_PATTERN.test(raw)) {
    throw new InvalidInputError("run_id", raw, RUN_ID_INPUT_ALLOWED);
  }
  return raw;
}

/** The name the cell's function gets (core/names.ts): the fallback outside Lambda. */
function cellFunctionName(s: Settings): string {
  return functionName(s, s.namePrefix);
}

/**
 * An abort signal that fires shortly before the function would time out, so that a stuck
 * upload still gets aborted and reported. Uses Lambda's remaining time when there is a
 * context, else the workload's configured function timeout.
 */
function deadline(
  s: Settings,
  context: HandlerContext | undefined,
): { signal: AbortSignal; clear: () => void } {
  const remaining = context?.getRemainingTimeInMillis?.() ?? functionTimeoutSeconds(s) * 1000;
  const margin = deadlineMarginMs(remaining);
  const budget = Math.max(0, remaining - margin);
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new Error(
        `deadline reached: no answer within ${budget} ms (function timeout less ${margin} ms to report)`,
      ),
    );
  }, budget);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * The Lambda entry point. Settings and the event are validated first (an InvalidInputError,
 * no S3 call, no EMF line: there is no valid record of a misconfigured cell). Then exactly one
 * EMF line is written, also on failure (`ok: false`, `error`, `object_bytes` 0), after which
 * the error is rethrown so that Lambda reports a function error.
 */
export async function handler(event: unknown, context?: HandlerContext): Promise<HandlerResponse> {
  const coldStart = takeColdStart();
  const settings = readSettings(process.env);
  const fnName =
    context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? cellFunctionName(settings);
  const tsStart = Date.now();
  const runId = runIdOf(event, tsStart);
  const key = objectKey(settings.workload, settings.memoryMb, runId, tsStart, randomUUID());
  const { signal, clear } = deadline(settings, context);
  const body = bodyOf(settings);
  let outcome: Outcome | undefined;
  let failure: unknown;
  try {
    outcome = await body.ingest(settings, key, signal);
  } catch (e: unknown) {
    failure = e;
  } finally {
    clear();
  }
  const tsEnd = Date.now();
  const record: EmfRecord = {
    ts_start_ms: tsStart,
    ts_end_ms: tsEnd,
    latency_ms: tsEnd - tsStart,
    workload: settings.workload,
    run_id: runId,
    function_name: fnName,
    region: settings.region,
    memory_mb: settings.memoryMb,
    reserved_concurrency: settings.reservedConcurrency,
    // A failed invocation did generate its events (if its workload has any).
    events_generated: outcome?.eventsGenerated ?? cellOutput(settings, settings).events,
    object_bytes: outcome?.objectBytes ?? 0,
    // A failed upload keeps no parts.
    multipart_parts: outcome?.multipartParts ?? 0,
    s3_bucket: settings.outputBucket,
    s3_key: key,
    schema_version: EMF.schemaVersion,
    request_id: context?.awsRequestId ?? "",
    cold_start: coldStart,
    ok: outcome !== undefined,
    ...(outcome === undefined ? { error: errorMessage(failure) } : {}),
    // The workload fields: this cell's size factor and setting, every other workload's 0.
    ...cellRecordFields(settings, settings),
  };
  emitRecord(record);
  if (outcome === undefined) throw failure;
  return {
    ok: true,
    run_id: runId,
    latency_ms: record.latency_ms,
    s3_key: key,
    object_bytes: outcome.objectBytes,
    events_generated: outcome.eventsGenerated,
    multipart_parts: outcome.multipartParts,
  };
}
