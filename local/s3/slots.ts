/**
 * The buffers request bodies pass through on their way to disk: 1 MiB "slots", page-aligned and
 * shared. They are carved from shared WebAssembly memories, the one kind of memory JavaScript can
 * get page-aligned: alignment lets a slot be written to disk with O_DIRECT (see body-file.ts), and
 * sharing lets the hashing threads read a slot where it lies, with no copy and no transfer.
 *
 * Slots are reused (last freed, first taken, so that the pages in use stay few); the memories are
 * kept for the life of the process, so the slots in existence are those of the busiest moment.
 */

/** Bytes in one slot. */
export const SLOT_BYTES = 1024 * 1024;
/** Slots carved from one shared memory. */
const SLOTS_PER_MEMORY = 16;
const WASM_PAGE_BYTES = 64 * 1024;

/** One slot: a view of its bytes and where they lie in their shared memory. */
export interface Slot {
  /** The shared memory; another thread reads the slot as `memory[offset, offset + length)`. */
  readonly memory: SharedArrayBuffer;
  readonly offset: number;
  /** The slot's SLOT_BYTES bytes. */
  readonly bytes: Buffer;
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
    free.push({ memory, offset, bytes: Buffer.from(memory, offset, SLOT_BYTES) });
  }
  created += SLOTS_PER_MEMORY;
}

/** A free slot (a new shared memory is added when none is free). Give it back with releaseSlot. */
export function acquireSlot(): Slot {
  if (free.length === 0) addMemory();
  const slot = free.pop();
  if (slot === undefined) throw new Error("no slot after adding a memory");
  return slot;
}

/** Returns a slot for reuse; its bytes must no longer be read or written by anyone. */
export function releaseSlot(slot: Slot): void {
  free.push(slot);
}

/** Slots in existence and slots handed out (tests use it to prove that none leaks). */
export function slotCounts(): { created: number; inUse: number } {
  return { created, inUse: created - free.length };
}
