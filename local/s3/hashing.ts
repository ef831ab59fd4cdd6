/**
 * Hashing of request bodies (MD5 for the ETag, SHA-256 for the signed payload hash, a flexible
 * checksum) off the event loop: large bodies are hashed in worker threads so that concurrent
 * part uploads use several cores and the main thread only moves bytes to disk. A body arrives
 * here in slots (slots.ts), shared memory the workers read in place. Small bodies are hashed
 * inline, where a worker's messaging would cost more than it saves.
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type ChecksumAlgorithm, createChecksum } from "./checksums";
import { WORKER_SOURCE } from "./hash-worker-source";
import type { Slot } from "./slots";

/** What to compute for one body. */
export interface HashRequest {
  /** Compute the SHA-256 hex of the body (to check a signed payload hash). */
  sha256: boolean;
  /** A flexible checksum to compute, if any. */
  checksum?: ChecksumAlgorithm;
}

/** The digests of one body. */
export interface Digests {
  md5: Buffer;
  sha256?: string;
  /** Base64 checksum value; undefined for algorithms that are not verified. */
  checksum?: string;
}

/** An incremental hasher of one body. */
export interface BodyHasher {
  /**
   * Feeds the first `length` bytes of a slot. A returned promise resolves when the hasher has
   * read them (until then the slot must not change); undefined means it already has.
   */
  update(slot: Slot, length: number): Promise<void> | undefined;
  finish(): Promise<Digests>;
  /** Drops the work (the body failed). Call it once no update is pending. */
  cancel(): void;
}

/** Bodies at least this large (when the size is known up front) are hashed in a worker. */
export const WORKER_THRESHOLD = 1024 * 1024;
/** Algorithms the worker computes; the rest (rare) stay inline. */
const WORKER_CHECKSUMS: readonly ChecksumAlgorithm[] = [
  "crc32",
  "crc32c",
  "crc64nvme",
  "sha1",
  "sha256",
];

function inlineHasher(request: HashRequest): BodyHasher {
  const md5 = createHash("md5");
  const sha = request.sha256 ? createHash("sha256") : undefined;
  const checksum = request.checksum === undefined ? undefined : createChecksum(request.checksum);
  return {
    update(slot, length) {
      const data = slot.bytes.subarray(0, length);
      md5.update(data);
      sha?.update(data);
      checksum?.update(data);
      return undefined;
    },
    finish: async () => ({
      md5: md5.digest(),
      sha256: sha?.digest("hex"),
      checksum: checksum?.digestBase64(),
    }),
    cancel() {},
  };
}

interface WorkerMessage {
  type: "ack" | "done";
  id: number;
  md5?: string;
  sha256?: string;
  checksum?: string;
}

interface Job {
  onAck(): void;
  onDone(message: WorkerMessage): void;
  onError(error: Error): void;
}

class HashWorker {
  readonly jobs = new Map<number, Job>();
  /** False once the thread has failed or exited: no job is given to it any more. */
  alive = true;
  private readonly worker: Worker;

  constructor() {
    // No inherited loaders (ts-node, tap): the worker runs plain JavaScript.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    // Idle workers must not keep a process (a test, the CLI after stop()) alive.
    this.worker.unref();
    this.worker.on("message", (m: WorkerMessage) => {
      const job = this.jobs.get(m.id);
      if (job === undefined) return;
      if (m.type === "ack") job.onAck();
      else {
        this.jobs.delete(m.id);
        job.onDone(m);
      }
    });
    // Its jobs fail rather than wait for answers that will never come.
    const fail = (e: Error): void => {
      this.alive = false;
      for (const job of this.jobs.values()) job.onError(e);
      this.jobs.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code: number) => {
      fail(new Error(`the hashing thread exited with code ${code}`));
    });
  }

  post(message: unknown): void {
    this.worker.postMessage(message);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

let pool: HashWorker[] | undefined;
let users = 0;
let nextId = 1;

/**
 * Registers a user (a running server) of the worker pool. Workers start on first use and are
 * terminated when the last user releases the pool: some module loaders (tap's) keep a worker's
 * ports referenced, so an idle worker would otherwise keep the process alive.
 */
export function acquireHashPool(): void {
  users += 1;
}

/** Releases the pool; the last release terminates its workers. */
export async function releaseHashPool(): Promise<void> {
  users = Math.max(0, users - 1);
  if (users > 0 || pool === undefined) return;
  const workers = pool;
  pool = undefined;
  await Promise.all(workers.map((w) => w.terminate()));
}

/** The least busy worker; a thread that died is replaced first. */
function pickWorker(): HashWorker {
  const workers = (pool ?? []).filter((w) => w.alive);
  while (workers.length < Math.max(1, Math.min(4, availableParallelism()))) {
    workers.push(new HashWorker());
  }
  pool = workers;
  return workers.reduce((best, w) => (w.jobs.size < best.jobs.size ? w : best));
}

function workerHasher(request: HashRequest): BodyHasher {
  const worker = pickWorker();
  const id = nextId++;
  const inline =
    request.checksum === undefined || WORKER_CHECKSUMS.includes(request.checksum)
      ? undefined
      : createChecksum(request.checksum);
  /** Resolvers of the updates not yet acknowledged, oldest first (the worker acks in order). */
  const unread: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  let done: ((m: WorkerMessage) => void) | undefined;
  let fail: ((e: Error) => void) | undefined;
  const finished = new Promise<WorkerMessage>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  finished.catch(() => {});
  worker.jobs.set(id, {
    onAck() {
      unread.shift()?.resolve();
    },
    onDone(m) {
      done?.(m);
    },
    onError(e) {
      failure = e;
      for (const u of unread.splice(0)) u.reject(e);
      fail?.(e);
    },
  });
  worker.post({
    type: "start",
    id,
    sha256: request.sha256,
    checksum: inline ? undefined : request.checksum,
  });

  return {
    update(slot, length) {
      if (failure !== undefined) return Promise.reject(failure);
      inline?.update(slot.bytes.subarray(0, length));
      worker.post({ type: "data", id, memory: slot.memory, offset: slot.offset, length });
      return new Promise<void>((resolve, reject) => {
        unread.push({ resolve, reject });
      });
    },
    async finish() {
      worker.post({ type: "end", id });
      const m = await finished;
      return {
        md5: Buffer.from(m.md5 ?? "", "hex"),
        sha256: m.sha256,
        checksum: inline ? inline.digestBase64() : m.checksum,
      };
    },
    cancel() {
      worker.jobs.delete(id);
      worker.post({ type: "cancel", id });
    },
  };
}

/**
 * A hasher for one body: in a worker thread when the body is known to be large, inline otherwise.
 */
export function createBodyHasher(
  request: HashRequest,
  expectedBytes: number | undefined,
): BodyHasher {
  if (expectedBytes !== undefined && expectedBytes >= WORKER_THRESHOLD)
    return workerHasher(request);
  return inlineHasher(request);
}
