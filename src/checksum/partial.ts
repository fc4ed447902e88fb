// csumPartial: the dispatching one's-complement sum (Linux csum_partial + csum_fold, not
// inverted). Short ranges take the byte loop; longer ones the in-place Wasm SIMD kernel when the
// bytes live in a registered packet memory, else the wide JS loop. Thresholds are measured with
// `npm run bench -- --only checksum` on the project machine (see bench/checksum.bench.ts).
import { checkRange } from './errors.ts';
import { csumAdd, csumFold } from './fold.ts';
import { sumBytes } from './js-bytes.ts';
import { sumWide, WIDE_MAX_LEN } from './js-wide.ts';
import {
  copierFor,
  csumCopierFor,
  kernelFor,
  onRegistryChange,
  type CopyKernel,
  type CsumCopyKernel,
  type Kernel,
} from './packet-memory.ts';

// Crossovers measured on the project machine (Node 20, 2-core EPYC) with the view cache hit: the
// Wasm path costs ~10 ns fixed (range check, slot lookup, the call) and passes the byte loop
// between 24 and 32 B; the wide loop's ~40 ns fixed cost passes it at ~100-128 B.
/** From this length on, the in-place Wasm kernel beats the byte loop. */
export const WASM_MIN_LEN = 32;
/** From this length on, the wide JS loop beats the byte loop. */
export const WIDE_MIN_LEN = 128;

// Views seen recently, by identity. V8 reads a typed array's .buffer (~17 ns) and .byteOffset
// (~5 ns) through slow paths here, yet both are fixed for a view's life, and a datapath uses a few
// long-lived views (one over the netmap region, a pool's), so four slots catch them. Packed
// literal arrays in this module: holey or imported arrays measured ~15 ns slower per call, and a
// Float64Array of bases ~40 ns (each float64 argument is boxed for the call).
const SLOTS = 4;
const EMPTY = new ArrayBuffer(0);
const slotView: (Uint8Array | null)[] = [null, null, null, null];
const slotKernel: (Kernel | undefined)[] = [undefined, undefined, undefined, undefined];
const slotCopy: (CopyKernel | undefined)[] = [undefined, undefined, undefined, undefined];
const slotCsumCopy: (CsumCopyKernel | undefined)[] = [undefined, undefined, undefined, undefined];
const slotBuffer: ArrayBufferLike[] = [EMPTY, EMPTY, EMPTY, EMPTY];
const slotBase: number[] = [0, 0, 0, 0];
let victim = 0;

/** The slot describing `buf`, filled round-robin on a miss. */
function viewSlot(buf: Uint8Array): number {
  for (let i = 0; i < SLOTS; i++) if (slotView[i] === buf) return i;
  const i = victim;
  victim = (victim + 1) & (SLOTS - 1);
  const b = buf.buffer;
  slotView[i] = buf;
  slotKernel[i] = kernelFor(b);
  slotCopy[i] = copierFor(b);
  slotCsumCopy[i] = csumCopierFor(b);
  slotBase[i] = buf.byteOffset;
  slotBuffer[i] = b;
  return i;
}

/** Drops every cached view (they hold their buffers alive); runs on each (un)registration. */
function forgetViews(): void {
  for (let i = 0; i < SLOTS; i++) {
    slotView[i] = null;
    slotKernel[i] = undefined;
    slotCopy[i] = undefined;
    slotCsumCopy[i] = undefined;
    slotBuffer[i] = EMPTY;
  }
}
onRegistryChange(forgetViews);

/**
 * Folded sum of buf[off, off+len) by the best JS path alone (no Wasm); range already checked.
 * `base`/`buffer` are buf.byteOffset/buf.buffer when the caller has them cached (read here only
 * if needed: as default parameters they would cost ~25 ns on every call).
 */
export function sumJs(
  buf: Uint8Array,
  off: number,
  len: number,
  cachedBase?: number,
  cachedBuffer?: ArrayBufferLike,
): number {
  if (len < WIDE_MIN_LEN) return sumBytes(buf, off, len);
  const base = cachedBase ?? buf.byteOffset;
  const buffer = cachedBuffer ?? buf.buffer;
  if (len <= WIDE_MAX_LEN) return sumWide(buf, off, len, base, buffer);
  // Beyond one exact float64 run: sum in pieces of even length so word parity is kept.
  let s = 0;
  for (let done = 0; done < len; done += WIDE_MAX_LEN) {
    s = csumAdd(s, sumWide(buf, off + done, Math.min(WIDE_MAX_LEN, len - done), base, buffer));
  }
  return s;
}

/**
 * One's-complement sum of buf[off, off+len) as big-endian 16-bit words (an odd last byte is the
 * high byte of a zero-padded word), plus `seed` (a partial or any non-negative integer < 2^53),
 * folded to 16 bits: 0x0000 only when everything summed is zero. Throws ChecksumError CSUM_RANGE
 * for a range outside `buf`.
 * @mirrors checksum.c:csum_partial
 */
export function csumPartial(buf: Uint8Array, off: number, len: number, seed = 0): number {
  checkRange(buf.length, off, len, 'csumPartial');
  let s: number;
  if (len < WASM_MIN_LEN) {
    s = sumBytes(buf, off, len);
  } else {
    const slot = viewSlot(buf);
    const kernel = slotKernel[slot];
    const base = slotBase[slot]!;
    s = kernel !== undefined ? kernel(base + off, len) : sumJs(buf, off, len, base, slotBuffer[slot]!);
  }
  return seed === 0 ? s : csumAdd(s, csumFold(seed));
}

/**
 * Copies buf[src, src+len) to buf[dst, dst+len) (the ranges may overlap) and returns the folded
 * partial of the copied bytes: csumPartial(buf, dst, len) after a copyWithin. In a packet memory the
 * SIMD kernel does both in one pass (stores what it loads and sums). Throws
 * ChecksumError CSUM_RANGE for a range outside `buf`.
 * @mirrors net/checksum.h:csum_partial_copy_nocheck
 */
export function csumPartialCopy(buf: Uint8Array, dst: number, src: number, len: number): number {
  checkRange(buf.length, src, len, 'csumPartialCopy source');
  checkRange(buf.length, dst, len, 'csumPartialCopy destination');
  const slot = viewSlot(buf);
  const k = slotCsumCopy[slot];
  if (k !== undefined) {
    const base = slotBase[slot]!;
    // One pass when the ranges are apart; overlapping ones need memmove's order first.
    if (dst + len <= src || src + len <= dst) return k(base + src, len, dst - src);
    slotCopy[slot]!(base + dst, base + src, len);
    return slotKernel[slot]!(base + dst, len);
  }
  buf.copyWithin(dst, src, src + len);
  return len < WIDE_MIN_LEN ? sumBytes(buf, dst, len) : sumJs(buf, dst, len);
}

/**
 * buf.copyWithin(dst, src, src + len) that stays fast in a packet memory: there V8 copies a shared
 * buffer with relaxed atomics, byte by byte unless both ends share 8-byte alignment, so the copy
 * goes through the kernel's memory.copy instead. Throws ChecksumError CSUM_RANGE for a range
 * outside `buf`.
 */
export function packetCopy(buf: Uint8Array, dst: number, src: number, len: number): void {
  checkRange(buf.length, src, len, 'packetCopy source');
  checkRange(buf.length, dst, len, 'packetCopy destination');
  const slot = viewSlot(buf);
  const k = slotCopy[slot];
  if (k !== undefined) {
    const base = slotBase[slot]!;
    k(base + dst, base + src, len);
  } else buf.copyWithin(dst, src, src + len);
}
