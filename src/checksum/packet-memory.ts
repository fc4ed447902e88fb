// Shared WebAssembly memories that packet storage (the netmap region, mbuf pools) lives in, so the
// SIMD kernel can sum packets in place: copying a packet into Wasm memory would cost as much as
// the sum. Each thread registers the memories it sees; a Memory posted to a worker arrives with a
// different SharedArrayBuffer object, so the worker calls registerPacketMemory itself. Local
// (unshared) packet memories serve one thread's scratch space, such as the GSO output.
import { ChecksumError } from './errors.ts';
import { KERNEL_MAX_PAGES, kernelModuleBytes } from './wasm/kernel.ts';
import { wasm, type WasmInstance, type WasmMemory } from './wasm/runtime.ts';

export type { WasmMemory } from './wasm/runtime.ts';

/** The kernel: folded big-endian partial of memory[ptr, ptr+len). */
export type Kernel = (ptr: number, len: number) => number;
/** memmove of memory[src, src+len) to memory[dst, ...). */
export type CopyKernel = (dst: number, src: number, len: number) => void;
/** Copies memory[src, src+len) to src + delta (no overlap) and returns the kernel's partial of it. */
export type CsumCopyKernel = (src: number, len: number, delta: number) => number;

export interface PacketMemory {
  memory: WasmMemory;
  buffer: SharedArrayBuffer;
}

const PAGE = 65536;

// Compiled once per thread, on first use: for shared memories and for local ones.
let kernelModule: object | undefined;
let localModule: object | undefined;

// Registered memories of this thread, as parallel arrays so the dispatch compares identities
// without allocating. A handful at most (one region, a few pools).
const buffers: ArrayBufferLike[] = [];
const kernels: Kernel[] = [];
const copiers: CopyKernel[] = [];
const csumCopiers: CsumCopyKernel[] = [];
// Called after every (un)registration, so caches keyed by views or buffers can be dropped.
const listeners: (() => void)[] = [];

/** Runs `fn` after each registration change in this thread (for caches derived from the registry). */
export function onRegistryChange(fn: () => void): void {
  listeners.push(fn);
}

function changed(): void {
  for (const fn of listeners) fn();
}

function pagesFor(bytes: number, what: string): number {
  const pages = Math.ceil(bytes / PAGE);
  if (!Number.isInteger(bytes) || bytes <= 0 || pages > KERNEL_MAX_PAGES) {
    throw new ChecksumError('CSUM_ARG', `${what}: ${bytes} bytes (1..${KERNEL_MAX_PAGES * PAGE})`);
  }
  return pages;
}

/**
 * A fixed-size shared memory of at least `bytes` bytes (rounded up to 64 KiB pages; initial =
 * maximum, never grown, so its buffer never changes), registered for in-place checksums.
 */
export function createPacketMemory(bytes: number): PacketMemory {
  const pages = pagesFor(bytes, 'createPacketMemory');
  const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  return { memory, buffer: registerPacketMemory(memory) };
}

/** A packet memory only this thread uses: its buffer is an ordinary ArrayBuffer. */
export interface LocalPacketMemory {
  memory: WasmMemory;
  buffer: ArrayBuffer;
}

/**
 * A fixed-size memory like createPacketMemory's, but not shared: for scratch space one thread
 * segments or coalesces in (src/tso). JS copies into and out of it are plain memcpys, where a
 * shared buffer is copied with relaxed atomics (word by word at best); the kernels work the same.
 * Unregister it when done with it.
 */
export function createLocalPacketMemory(bytes: number): LocalPacketMemory {
  const pages = pagesFor(bytes, 'createLocalPacketMemory');
  const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: false });
  const buffer = memory.buffer as ArrayBuffer;
  localModule ??= new wasm.Module(kernelModuleBytes(false));
  add(buffer, new wasm.Instance(localModule, { env: { memory } }));
  return { memory, buffer };
}

function add(buffer: ArrayBufferLike, instance: WasmInstance): void {
  buffers.push(buffer);
  kernels.push(instance.exports['csum'] as Kernel);
  copiers.push(instance.exports['copy'] as CopyKernel);
  csumCopiers.push(instance.exports['csum_copy'] as CsumCopyKernel);
  changed();
}

/** Registers a shared memory received from another thread (idempotent); returns its buffer here. */
export function registerPacketMemory(memory: WasmMemory): SharedArrayBuffer {
  const buffer = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength > KERNEL_MAX_PAGES * PAGE) {
    throw new ChecksumError('CSUM_ARG', 'registerPacketMemory: not a shared memory the kernel can address');
  }
  if (buffers.includes(buffer)) return buffer;
  kernelModule ??= new wasm.Module(kernelModuleBytes());
  add(buffer, new wasm.Instance(kernelModule, { env: { memory } }));
  return buffer;
}

/** Forgets a memory registered in this thread (so it can be collected); true if it was known. */
export function unregisterPacketMemory(memory: WasmMemory): boolean {
  const i = buffers.indexOf(memory.buffer);
  if (i < 0) return false;
  buffers.splice(i, 1);
  kernels.splice(i, 1);
  copiers.splice(i, 1);
  csumCopiers.splice(i, 1);
  changed();
  return true;
}

/** The kernel bound to buffer `b`, if `b` is a registered packet memory of this thread. */
export function kernelFor(b: ArrayBufferLike): Kernel | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return kernels[i];
  return undefined;
}

/** The copy kernel bound to buffer `b`, if `b` is a registered packet memory of this thread. */
export function copierFor(b: ArrayBufferLike): CopyKernel | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return copiers[i];
  return undefined;
}

/** The copy-and-sum kernel bound to buffer `b`, if `b` is a registered packet memory of this thread. */
export function csumCopierFor(b: ArrayBufferLike): CsumCopyKernel | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return csumCopiers[i];
  return undefined;
}
