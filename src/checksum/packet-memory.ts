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
  forgetViews();
  return buffer;
}

/** Forgets a memory registered in this thread (so it can be collected); true if it was known. */
export function unregisterPacketMemory(memory: WasmMemory): boolean {
  const i = buffers.indexOf(memory.buffer);
  if (i < 0) return false;
  buffers.splice(i, 1);
  kernels.splice(i, 1);
  forgetViews();
  return true;
}

/** The kernel bound to buffer `b`, if `b` is a registered packet memory of this thread. */
export function kernelFor(b: ArrayBufferLike): Kernel | undefined {
  for (let i = 0; i < buffers.length; i++) if (buffers[i] === b) return kernels[i];
  return undefined;
}

// Views seen recently, by identity. V8 reads a typed array's .buffer (~17 ns) and .byteOffset
// (~5 ns) through slow paths here, yet both are fixed for a view's life; a datapath uses a few
// long-lived views (one over the netmap region, a pool's), so four slots catch them. The slots
// hold strong references: forgetViews() (also run on (un)registration) drops them.
const SLOTS = 4;
const slotView: (Uint8Array | null)[] = new Array<Uint8Array | null>(SLOTS).fill(null);
/** Per slot: the view's kernel (undefined if its buffer is not a packet memory), byteOffset, buffer. */
export const slotKernel: (Kernel | undefined)[] = new Array<Kernel | undefined>(SLOTS).fill(undefined);
export const slotBase: number[] = new Array<number>(SLOTS).fill(0);
export const slotBuffer: ArrayBufferLike[] = new Array<ArrayBufferLike>(SLOTS).fill(new ArrayBuffer(0));
let victim = 0;

/** The slot describing `buf`, filled (round-robin) on a miss. */
export function viewSlot(buf: Uint8Array): number {
  for (let i = 0; i < SLOTS; i++) if (slotView[i] === buf) return i;
  const i = victim;
  victim = (victim + 1) & (SLOTS - 1);
  const b = buf.buffer;
  slotView[i] = buf;
  slotKernel[i] = kernelFor(b);
  slotBase[i] = buf.byteOffset;
  slotBuffer[i] = b;
  return i;
}

/** Drops every cached view (they keep their buffers alive). */
export function forgetViews(): void {
  slotView.fill(null);
  slotKernel.fill(undefined);
  slotBuffer.fill(new ArrayBuffer(0));
}
