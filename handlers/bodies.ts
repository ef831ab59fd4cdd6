/**
 * The handler body of each workload, keyed by core/workloads.ts: what one invocation writes to
 * S3 and what it reports. handler.ts runs the body of the configured workload.
 */
import type { Workload } from "../core/workloads";
import { uploadBatch } from "./batch-upload";
import { eventsPayload } from "./generators";
import { putObject, s3Client } from "./s3-client";
import type { Settings, SettingsOf } from "./settings";

/** What an ingestion wrote. */
export interface Outcome {
  readonly objectBytes: number;
  readonly eventsGenerated: number;
  readonly multipartParts: number;
}

/** One workload's body. */
export interface WorkloadBody<S> {
  /** Writes the invocation's data to `key`; rejects (after aborting) on any failure. */
  readonly ingest: (s: S, key: string, signal: AbortSignal) => Promise<Outcome>;
}

/** The body of every workload. */
export const BODIES: { readonly [W in Workload]: WorkloadBody<SettingsOf<W>> } = {
  events: {
    async ingest(s, key, signal) {
      const body = eventsPayload(s.batchEvents, s.eventBytes);
      const client = s3Client({ endpoint: s.s3Endpoint, region: s.region, workload: s.workload });
      await putObject(client, {
        bucket: s.outputBucket,
        key,
        body,
        contentType: "application/x-ndjson",
        signal,
      });
      return { objectBytes: body.length, eventsGenerated: s.batchEvents, multipartParts: 0 };
    },
  },
  batch: {
    async ingest(s, key, signal) {
      const client = s3Client({ endpoint: s.s3Endpoint, region: s.region, workload: s.workload });
      const result = await uploadBatch(client, {
        bucket: s.outputBucket,
        key,
        objectBytes: s.objectBytes,
        partBytes: s.partBytes,
        queueSize: s.partsInFlight,
        signal,
      });
      return { objectBytes: result.bytes, eventsGenerated: 0, multipartParts: result.parts };
    },
  },
};

/** The body of the settings' workload. */
export function bodyOf(s: Settings): WorkloadBody<Settings> {
  return BODIES[s.workload] as WorkloadBody<Settings>;
}
