// Copies between two byte arrays with no allocation per call. JavaScript has no "copy this range
// of one buffer into another" that takes offsets: `dst.set(src.subarray(a, b), at)` makes a view
// object per call, and on the datapath that was a view per packet, and per segment of a chained or
// TSO frame (issue 11). Views over the same storage use copyWithin. Across two buffers, the datapath's
// own arrays (the pool's packet memory, a socket's send ring and receive chunks) are registered once
// with word views of their storage, and bytes move as 32-bit words: a store to an aligned Int32Array
// of the destination, a load from the source's Int32Array when it is aligned the same way or else
// from its DataView. Where one side is shared memory this is also faster than `set`, which V8 runs
// byte by byte over a SharedArrayBuffer unless both ends are 8-byte aligned alike (1448 B, node 20,
// this VM: ~330 ns against ~500 ns). Between two unshared arrays `set` stays (its memcpy is ~4×
// faster than any loop), as it does for arrays nobody registered.

/** Below this, the word loop costs less than node's fill call. */
export const FILL_MIN = 256;

/** Whether Int32Array (native order) is little-endian, so DataView reads give the same words. */
const LITTLE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Word views of one array's whole storage, made once (registerCopyViews, wordViews), with the
 * array's storage and offset in it: node 20's V8 reads a typed array's .buffer (~35 ns) and
 * .byteOffset (~25 ns) through calls, not loads (scratch loop, this VM; .length ~1.5 ns), and a
 * copy of a few bytes paid four such reads to learn where its ends lie.
 */
export interface WordViews {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  readonly dv: DataView;
  readonly shared: boolean;
  /** The array's storage (its .buffer). */
  readonly buffer: ArrayBufferLike;
  /** The array's first byte in `bytes` (its .byteOffset). */
  readonly base: number;
}

/**
 * The word and DataView views are made on first use. A socket's receive chunk is a destination
 * only, so it never makes the DataView (copyWords reads unaligned sources through it), and its
 * Int32Array waits for the first piece node's fill cannot take (Mbuf.copyTo): ~30 B of heap less
 * per received TSO frame (`npm run bench -- --only alloc`'s copyIn site: 170–180 → 101–104 B,
 * plus 39–43 B where copyTo makes the word view).
 */
class LazyWordViews implements WordViews {
  private w: Int32Array | null = null;
  private d: DataView | null = null;
  constructor(
    readonly bytes: Uint8Array,
    readonly shared: boolean,
    readonly buffer: ArrayBufferLike,
    readonly base: number,
  ) {}
  get words(): Int32Array {
    return (this.w ??= new Int32Array(this.bytes.buffer, 0, this.bytes.buffer.byteLength >> 2));
  }
  get dv(): DataView {
    return (this.d ??= new DataView(this.bytes.buffer));
  }
}

const registered = new WeakMap<Uint8Array, WordViews>();

function isShared(a: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** The views registerCopyViews made for `a`, if it did. */
export function registeredViews(a: Uint8Array): WordViews | undefined {
  return registered.get(a);
}

/**
 * Lets copies to and from `a` (a long-lived array of the datapath: packet memory, a send ring, a
 * receive chunk) run without a subarray per call. Its views are made once, on first use; idempotent.
 */
export function registerCopyViews(a: Uint8Array): void {
  if (!registered.has(a)) registered.set(a, wordViews(a));
}

/**
 * The word views of `a` without registering them, for arrays made often and short-lived (a
 * socket's receive chunks): their owner keeps the views and passes them to copyBytes. A WeakMap
 * entry per such array made V8 run a full mark-compact every ~50 ms of a bulk transfer (its
 * entries are ephemerons, and the dead chunks' external memory waited for them).
 */
export function wordViews(a: Uint8Array): WordViews {
  const buf = a.buffer;
  const base = a.byteOffset;
  // `bytes` is a plain Uint8Array even for a Buffer (a receive chunk): copyWords' byte loops then
  // see one map. With the chunk itself there, a bulk transfer deoptimised copyWords 25–35 times a
  // second ("wrong map", --trace-deopt), and what ran in the interpreter meanwhile allocated.
  // One object more per 64 KiB chunk; the alloc bench went 139 → 126 B per packet (offloads on).
  return new LazyWordViews(
    base === 0 && a.length === buf.byteLength && !(a instanceof Buffer) ? a : new Uint8Array(buf),
    isShared(a),
    buf,
    base,
  );
}

/** Staging for copies of ≤ 16 bytes: through it, a copy between overlapping views stays a memmove. */
const SMALL = new Uint8Array(16);

/**
 * Copies src[srcOff, srcOff+len) to dst[dstOff...] (memmove: the ranges may overlap). The caller
 * has checked both ranges. Allocates nothing when len ≤ 16, when both arrays are registered and
 * share storage or one of them is shared memory, when both are views of one storage, or when the
 * range is all of src. Registered arrays are recognised before any .buffer or .byteOffset read.
 */
export function copyBytes(
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
  /** dst's views when its owner keeps them (wordViews) instead of registering dst. */
  dstViews?: WordViews,
): void {
  if (len <= 16) {
    // A 1-byte TCP_RR write or a header field: cheaper staged than located.
    for (let i = 0; i < len; i++) SMALL[i] = src[srcOff + i]!;
    for (let i = 0; i < len; i++) dst[dstOff + i] = SMALL[i]!;
    return;
  }
  const d = dstViews ?? registered.get(dst);
  const s = registered.get(src);
  if (d !== undefined && s !== undefined) {
    if (d.buffer === s.buffer) {
      // One storage (d.bytes and s.bytes both span it): copyWithin is a memmove.
      const from = s.base + srcOff;
      d.bytes.copyWithin(d.base + dstOff, from, from + len);
      return;
    }
    if (d.shared || s.shared) {
      copyWords(d, d.base + dstOff, s, s.base + srcOff, len);
      return;
    }
  }
  copyUnregistered(dst, dstOff, src, srcOff, len, d, s);
}

/** copyBytes for arrays it does not know both of: the storage and offsets are read from them. */
function copyUnregistered(
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
  d: WordViews | undefined,
  s: WordViews | undefined,
): void {
  const sameStorage = src.buffer === dst.buffer;
  if (sameStorage) {
    const from = src.byteOffset + srcOff - dst.byteOffset;
    if (from >= 0 && from + len <= dst.length) {
      dst.copyWithin(dstOff, from, from + len);
      return;
    }
    const to = dst.byteOffset + dstOff - src.byteOffset;
    if (to >= 0 && to + len <= src.length) {
      src.copyWithin(to, srcOff, srcOff + len);
      return;
    }
  }
  // The whole source (a socket write's Buffer that fits) needs no view either.
  const from = srcOff === 0 && len === src.length ? src : src.subarray(srcOff, srcOff + len);
  // To or from shared memory (a zero-copy write's Buffer into packet memory), `set` runs byte by
  // byte unless both ends are aligned alike modulo 8; node's fill is a memcpy either way (10.9
  // against 3.3 GB/s for 2 KiB at a header's offset, this VM). Not within one buffer: a memcpy
  // must not overlap.
  const shared = (d !== undefined ? d.shared : isShared(dst)) || (s !== undefined ? s.shared : isShared(src));
  if (len >= FILL_MIN && shared && !sameStorage) {
    Buffer.prototype.fill.call(dst, from, dstOff, dstOff + len);
  } else {
    dst.set(from, dstOff);
  }
}

/** The copy over word views; da and sa are offsets in the whole storage of each side. */
function copyWords(d: WordViews, da: number, s: WordViews, sa: number, len: number): void {
  const db = d.bytes;
  const sb = s.bytes;
  let n = len;
  // Bytes until the destination is word-aligned.
  while ((da & 3) !== 0 && n > 0) {
    db[da++] = sb[sa++]!;
    n--;
  }
  const dw = d.words;
  const count = n >> 2;
  let w = da >> 2;
  const wEnd = w + count;
  if ((sa & 3) === 0) {
    const sw = s.words;
    let r = sa >> 2;
    // Unrolled by four: bounds checks and loop overhead dominate a word copy in JS.
    while (w + 4 <= wEnd) {
      dw[w] = sw[r]!;
      dw[w + 1] = sw[r + 1]!;
      dw[w + 2] = sw[r + 2]!;
      dw[w + 3] = sw[r + 3]!;
      w += 4;
      r += 4;
    }
    while (w < wEnd) dw[w++] = sw[r++]!;
  } else {
    const dv = s.dv;
    let b = sa;
    while (w + 4 <= wEnd) {
      dw[w] = dv.getInt32(b, LITTLE);
      dw[w + 1] = dv.getInt32(b + 4, LITTLE);
      dw[w + 2] = dv.getInt32(b + 8, LITTLE);
      dw[w + 3] = dv.getInt32(b + 12, LITTLE);
      w += 4;
      b += 16;
    }
    while (w < wEnd) {
      dw[w++] = dv.getInt32(b, LITTLE);
      b += 4;
    }
  }
  da += count * 4;
  sa += count * 4;
  n -= count * 4;
  while (n-- > 0) db[da++] = sb[sa++]!;
}
