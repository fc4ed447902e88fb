// Shared WebAssembly memories that packet storage (the netmap region, mbuf pools) lives in, so the
// SIMD kernel can sum packets in place: copying a packet into Wasm memory would cost as much as
// the sum. Each thread registers the memories it sees; a Memory posted to a worker arrives with a
// different SharedArrayBuffer object, so the worker calls registerPacketMemory itself.
import { ChecksumError } from './errors.ts';
import { KERNEL_MAX_PAGES, kernelModuleBytes } from './wasm/kernel.ts';
import { wasm, type WasmMemory } from './wasm/runtime.ts';

export type { WasmMemory } from './wasm/runtime.ts';

/** The kernel: folded big-endian partial of memory[ptr, ptr+len). */
export type Kernel = (ptr: number, len: number) => number;

/** memmove of memory[src, src+len) to memory[dst, ...) (Wasm memory.copy; traps out of bounds). */
export type PacketCopy = (dst: number, src: number, len: number) => void;

export interface PacketMemory {
  memory: WasmMemory;
  buffer: SharedArrayBuffer;
}

const PAGE = 65536;

// Compiled once per thread, on first use.
let kernelModule: object | undefined;

// Registered memories of this thread, as parallel arrays so the dispatch compares identities
// without allocating. A handful at most (one region, a few pools).
const buffers: ArrayBufferLike[] = [];
const kernels: Kernel[] = [];
const copiers: PacketCopy[] = [];
// Called after every (un)registration, so caches keyed by views or buffers can be dropped.
const listeners: (() => void)[] = [];

/** Runs `fn` after each registration change in this thread (for caches derived from the registry). */
export function onRegistryChange(fn: () => void): void {
  listeners.push(fn);
}

function changed(): void {
  for (const fn of listeners) fn();
}

/**
 * A fixed-size shared memory of at least `bytes` bytes (rounded up to 64 KiB pages; initial =
 * maximum, never grown, so its buffer never changes), registered for in-place checksums.
 */
export function createPacketMemory(bytes: number): PacketMemory {
  const pages = Math.ceil(bytes / PAGE);
  if (!Number.isInteger(bytes) || bytes <= 0 || pages > KERNEL_MAX_PAGES) {
    throw new ChecksumError('CSUM_ARG', `createPacketMemory: ${bytes} bytes (1..${KERNEL_MAX_PAGES * PAGE})`);
  }
  const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  return { memory, buffer: registerPacketMemory(memory) };
}

/** Registers a shared memory received from another thread (idempotent); returns its buffer here. */
export function registerPacketMemory(memory: WasmMemory): SharedArrayBuffer {
  const buffer = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength > KERNEL_MAX_PAGES * PAGE) {
    throw new ChecksumError('CSUM_ARG', 'registerPacketMemory: not a shared memory the kernel can address');
  }
  if (buffers.includes(buffer)) return buffer;
  kernelModule ??= new wasm.Module(kernelModuleBytes());
  const instance = new wasm.Instance(kernelModule, { env: { memory } });
  buffers.push(buffer);
  kernels.push(instance.exports['csum'] as Kernel);
  copiers.push(instance.exports['copy'] as PacketCopy);
  changed();
  return buffer;
}

/** Forgets a memory registered in this thread (so it can be collected); true if it was known. */
export function unregisterPacketMemory(memory: WasmMemory): boolean {
  const i = buffers.indexOf(memory.buffer);
  if (i < 0) return false;
  buffers.splice(i, 1);
  kernels.splice(i, 1);
  copiers.splice(i, 1);
  changed();
  return true;
}

/** Whether `buf`'s bytes live in a packet memory of this thread (csumPartial sums them in place). */
export function inPacketMemory(buf: Uint8Array): boolean {
  return kernelFor(buf.buffer) !== undefined;
}

/**
 * A memmove within packet memory `b` (addresses are byte offsets in `b`), if `b` is a registered
 * packet memory of this thread: the copy V8 does natively, which typed arrays over shared memory
 * do not get.
 */
export function packetCopyFor(b: ArrayBufferLike): PacketCopy | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return copiers[i];
  return undefined;
}

/** The kernel bound to buffer `b`, if `b` is a registered packet memory of this thread. */
export function kernelFor(b: ArrayBufferLike): Kernel | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return kernels[i];
  return undefined;
}
