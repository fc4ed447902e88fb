// Long ranges in pure JS: 32-bit native-order loads through a Uint32Array over the aligned middle,
// sixteen per iteration into four float64 accumulators (exact up to 2^53, so carries are deferred to
// one fold at the end: 2^21 words = 8 MiB per call is far beyond any packet), then one byte swap
// (RFC 1071 §2(B)). Head and tail bytes (< 4 each) are added at their parity relative to `off`.
import { csumFold, swab16 } from './fold.ts';

/** Largest len whose float64 accumulators stay exact: 2^53 / 2^32 words, less headroom. */
export const WIDE_MAX_LEN = 4 * 1024 * 1024;

// Uint32Array views over the last few buffers: packet memories and pools are a few large buffers,
// so a hit is the norm, and a miss costs one view allocation (~75 ns), amortised by the lengths
// that come here.
const VIEWS = 4;
// Packed literal arrays: holey ones (new Array(n).fill) measured slower on every access.
const NONE = new Uint32Array(0);
const viewBuffers: (ArrayBufferLike | null)[] = [null, null, null, null];
const views: Uint32Array<ArrayBufferLike>[] = [NONE, NONE, NONE, NONE];
let victim = 0;

/** A Uint32Array over all of `b` with at least `words` elements. */
function u32View(b: ArrayBufferLike, words: number): Uint32Array<ArrayBufferLike> {
  let i = 0;
  while (i < VIEWS && viewBuffers[i] !== b) i++;
  // A resizable buffer may have grown past a cached view: make a fresh one then.
  if (i < VIEWS && views[i]!.length >= words) return views[i]!;
  if (i === VIEWS) {
    i = victim;
    victim = (victim + 1) & (VIEWS - 1);
  }
  const v = new Uint32Array(b, 0, b.byteLength >>> 2);
  viewBuffers[i] = b;
  views[i] = v;
  return v;
}

/**
 * Folded one's-complement sum of buf[off, off+len), len <= WIDE_MAX_LEN (not checked here).
 * `base` and `buffer` are buf.byteOffset and buf.buffer, passed by callers that have them cached.
 */
export function sumWide(
  buf: Uint8Array,
  off: number,
  len: number,
  base = buf.byteOffset,
  buffer: ArrayBufferLike = buf.buffer,
): number {
  const abs = base + off;
  let head = (4 - (abs & 3)) & 3;
  if (head > len) head = len;
  // Head: up to 3 bytes at even/odd/even positions from off.
  let s = 0;
  if (head !== 0) {
    s = buf[off]! << 8;
    if (head > 1) s += buf[off + 1]!;
    if (head > 2) s += buf[off + 2]! << 8;
  }
  const words = (len - head) >>> 2;
  let w = (abs + head) >>> 2;
  const wEnd = w + words;
  const u32 = u32View(buffer, wEnd);
  const wEnd16 = w + (words & ~15);
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  for (; w < wEnd16; w += 16) {
    m0 += u32[w]! + u32[w + 4]! + u32[w + 8]! + u32[w + 12]!;
    m1 += u32[w + 1]! + u32[w + 5]! + u32[w + 9]! + u32[w + 13]!;
    m2 += u32[w + 2]! + u32[w + 6]! + u32[w + 10]! + u32[w + 14]!;
    m3 += u32[w + 3]! + u32[w + 7]! + u32[w + 11]! + u32[w + 15]!;
  }
  for (; w < wEnd; w++) m0 += u32[w]!;
  // The middle was summed as little-endian words starting `head` bytes after off: swap it back
  // unless head is odd (then the swap and the odd start cancel).
  const m = csumFold(m0 + m1 + m2 + m3);
  s += (head & 1) === 0 ? swab16(m) : m;
  // Tail: up to 3 bytes, summed as if at an even position, swapped if the position is odd.
  const k = off + head + words * 4;
  const end = off + len;
  if (k < end) {
    let t = buf[k]! << 8;
    if (k + 1 < end) t += buf[k + 1]!;
    if (k + 2 < end) t += buf[k + 2]! << 8;
    t = csumFold(t);
    s += ((k - off) & 1) === 0 ? t : swab16(t);
  }
  return csumFold(s);
}
