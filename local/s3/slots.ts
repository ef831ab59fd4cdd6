/**
 * The buffers request bodies pass through on their way to disk: 1 MiB "slots", page-aligned and
 * shared. They are carved from shared WebAssembly memories, the one kind of memory JavaScript can
 * get page-aligned: alignment lets a slot be written to disk with O_DIRECT (see body-file.ts), and
 * sharing lets the hashing threads read a slot where it lies, with no copy and no transfer.
 *
 * Pooled slots are reused (last freed, first taken, so that the pages in use stay few) and kept
 * for the life of the process, up to {@link MAX_POOLED_SLOTS}. Beyond that, under many concurrent
 * uploads, a slot is a plain SharedArrayBuffer of its own: shared all the same, but not
 * page-aligned (so written through the page cache) and dropped when released, for the garbage
 * collector to free. The server's resident memory thus stays bounded after any burst.
 */

/** Bytes in one slot. */
export const SLOT_BYTES = 1024 * 1024;
/** Slots carved from one shared memory. */
const SLOTS_PER_MEMORY = 16;
/** Most slots pooled (4 memories): 4 parts in flight use 20 at most. */
export const MAX_POOLED_SLOTS = 64;
const WASM_PAGE_BYTES = 64 * 1024;

/** One slot: a view of its bytes and where they lie in their shared memory. */
export interface Slot {
  /** The shared memory; another thread reads the slot as `memory[offset, offset + length)`. */
  readonly memory: SharedArrayBuffer;
  readonly offset: number;
  /** The slot's SLOT_BYTES bytes. */
  readonly bytes: Buffer;
  /** Pooled: page-aligned (O_DIRECT can write it) and reused after release. */
  readonly pooled: boolean;
}

/** WebAssembly.Memory as used here: TypeScript declares it in the DOM lib only. */
type SharedMemoryConstructor = new (descriptor: {
  initial: number;
  maximum: number;
  shared: true;
}) => { readonly buffer: SharedArrayBuffer };
const SharedMemory = (globalThis as unknown as { WebAssembly: { Memory: SharedMemoryConstructor } })
  .WebAssembly.Memory;

const free: Slot[] = [];
let created = 0;

function addMemory(): void {
  const pages = (SLOTS_PER_MEMORY * SLOT_BYTES) / WASM_PAGE_BYTES;
  const memory = new SharedMemory({ initial: pages, maximum: pages, shared: true }).buffer;
  for (let i = SLOTS_PER_MEMORY - 1; i >= 0; i--) {
    const offset = i * SLOT_BYTES;
    free.push({ memory, offset, bytes: Buffer.from(memory, offset, SLOT_BYTES), pooled: true });
  }
  created += SLOTS_PER_MEMORY;
}

let overflowInUse = 0;

/**
 * A free slot: a pooled one (a new shared memory is added when none is free and the pool is not
 * full), else one of its own. Give it back with releaseSlot.
 */
export function acquireSlot(): Slot {
  if (free.length === 0 && created < MAX_POOLED_SLOTS) addMemory();
  const slot = free.pop();
  if (slot !== undefined) return slot;
  overflowInUse += 1;
  const memory = new SharedArrayBuffer(SLOT_BYTES);
  return { memory, offset: 0, bytes: Buffer.from(memory), pooled: false };
}

/** Gives a slot back; its bytes must no longer be read or written by anyone. */
export function releaseSlot(slot: Slot): void {
  if (slot.pooled) free.push(slot);
  else overflowInUse -= 1;
}

/**
 * Pooled slots in existence, pooled slots handed out and slots of their own handed out (tests use
 * it to prove that none leaks).
 */
export function slotCounts(): { created: number; inUse: number; overflowInUse: number } {
  return { created, inUse: created - free.length, overflowInUse };
}
