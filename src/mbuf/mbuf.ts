// One packet: a chain of pool segments plus its PacketMeta (BSD struct mbuf with m_pkthdr, or a
// DPDK rte_mbuf chain). Offsets are packet offsets (0 = first byte of the packet); the segment
// bookkeeping lives in the pool's typed arrays, so nothing here allocates.
//
// Ownership: an mbuf belongs to whoever allocated it until it is freed or handed over (NetIf
// transmit 'ok', a receive delivery). Using it after free is a bug the pool cannot always detect.

/**
 * The pool an mbuf's segments come from, as the mbuf sees it (mempool.ts's Mempool is the one
 * implementation): the storage and the per-segment tables, the segment free list, and alloc/free
 * for code that holds only an mbuf (m.pool.alloc(), as m_get from an mbuf's zone).
 */
export interface MbufPool {
  readonly data: Uint8Array;
  readonly segmentSize: number;
  readonly headroom: number;
  readonly segStart: Uint32Array;
  readonly segLen: Uint32Array;
  readonly segNext: Int32Array;
  readonly segmentsFree: number;
  segFailures: number;
  alloc(): Mbuf | null;
  free(m: Mbuf): void;
  /** A free segment, preferably the one right after segment `after` (Mempool.popSeg). */
  popSeg(after?: number): number;
  pushSeg(s: number): void;
  /** The pool's memory from byte `at` on, a view kept per buffer and start, or null (Mempool.viewFrom). */
  viewFrom(at: number): Uint8Array | null;
  /** `data` as a node Buffer over the same memory, for its fill (a memcpy). */
  readonly bytes: Buffer;
}
import { FILL_MIN, copyBytes, registeredViews, type WordViews } from './copy.ts';
import { PacketMeta } from './packet-meta.ts';

export class Mbuf {
  readonly pool: MbufPool;
  /** Index of this object in its pool. */
  readonly index: number;
  readonly meta = new PacketMeta();
  /** True between alloc and free. */
  inUse = false;
  /** First segment of the chain (-1 while free). Iterate with pool.segNext. */
  firstSeg = -1;
  /** Last segment of the chain. */
  lastSeg = -1;
  /** Total packet length in bytes (m_pkthdr.len). */
  length = 0;
  /** Segments in the chain. */
  segCount = 0;

  // locate() results, kept in fields so that lookups allocate nothing.
  private locSeg = -1;
  private locOff = 0;
  /** The last segment of the run run() measured. */
  private runLast = -1;

  constructor(pool: MbufPool, index: number) {
    this.pool = pool;
    this.index = index;
  }

  /** @internal Called by the pool: s is an empty segment whose start is already set. */
  attach(s: number): void {
    this.inUse = true;
    this.firstSeg = s;
    this.lastSeg = s;
    this.length = 0;
    this.segCount = 1;
    this.meta.clear();
  }

  /** @internal Called by the pool after the segments went back. */
  detach(): void {
    this.inUse = false;
    this.firstSeg = -1;
    this.lastSeg = -1;
    this.length = 0;
    this.segCount = 0;
  }

  /** Returns the mbuf to its pool. */
  free(): void {
    this.pool.free(this);
  }

  /** Index into pool.data of the packet's first byte (contiguous for headLength bytes). */
  get dataOffset(): number {
    return this.pool.segStart[this.firstSeg]!;
  }

  /** Bytes contiguous from dataOffset (the first segment's length). */
  get headLength(): number {
    return this.pool.segLen[this.firstSeg]!;
  }

  /** Bytes free in front of the first byte, in the first segment. */
  get leadingSpace(): number {
    const p = this.pool;
    return p.segStart[this.firstSeg]! - this.firstSeg * p.segmentSize;
  }

  /** Bytes free after the last byte, in the last segment. */
  get trailingSpace(): number {
    const p = this.pool;
    const t = this.lastSeg;
    return (t + 1) * p.segmentSize - p.segStart[t]! - p.segLen[t]!;
  }

  /**
   * Empties the packet: keeps one segment with the pool's headroom, frees the others; meta is kept.
   * Invariant kept by every operation: only an empty packet has an empty first segment.
   */
  reset(): void {
    const p = this.pool;
    const h = this.firstSeg;
    this.freeAfter(h);
    p.segStart[h] = h * p.segmentSize + p.headroom;
    p.segLen[h] = 0;
    this.length = 0;
  }

  /**
   * Makes room for n bytes in front of the packet (M_PREPEND): uses the headroom, else a new first
   * segment with the bytes at its end (so a further prepend still finds room). The new bytes are
   * not initialised. False (counted in pool.segFailures) when no segment is free; false for
   * n > segmentSize, which no single header needs.
   */
  prepend(n: number): boolean {
    byteCount(n);
    if (n === 0) return true;
    const p = this.pool;
    const h = this.firstSeg;
    const base = h * p.segmentSize;
    if (p.segStart[h]! - base >= n) {
      p.segStart[h] = p.segStart[h]! - n;
      p.segLen[h] = p.segLen[h]! + n;
      this.length += n;
      return true;
    }
    if (n > p.segmentSize) return false;
    if (p.segLen[h] === 0) {
      // Empty packet: restart the only segment at its beginning.
      p.segStart[h] = base;
      p.segLen[h] = n;
      this.length = n;
      return true;
    }
    if (p.segmentsFree === 0) {
      p.segFailures++;
      return false;
    }
    const s = p.popSeg();
    p.segStart[s] = (s + 1) * p.segmentSize - n;
    p.segLen[s] = n;
    p.segNext[s] = h;
    this.firstSeg = s;
    this.segCount++;
    this.length += n;
    return true;
  }

  /**
   * Appends src[srcOff, srcOff+len) (m_append), growing the chain as needed. All or nothing: false
   * (counted in pool.segFailures) if the segments it needs are not free.
   * @mirrors uipc_mbuf.c:m_append
   */
  append(src: Uint8Array, srcOff = 0, len = src.length - srcOff): boolean {
    checkRange(srcOff, len, src.length, 'append: source range');
    const p = this.pool;
    // Copy from the old end on: no walk from the head, so building a chain is linear.
    let s = this.lastSeg;
    let so = p.segLen[s]!;
    if (!this.extend(len)) return false;
    let done = 0;
    while (done < len) {
      const avail = p.segLen[s]! - so;
      const k = avail < len - done ? avail : len - done;
      if (k > 0) copyBytes(p.data, p.segStart[s]! + so, src, srcOff + done, k);
      done += k;
      s = p.segNext[s]!;
      so = 0;
    }
    return true;
  }

  /** Grows the packet by n uninitialised bytes at the end. All or nothing, like append. */
  extend(n: number): boolean {
    byteCount(n);
    if (n === 0) return true;
    const p = this.pool;
    const size = p.segmentSize;
    let t = this.lastSeg;
    const room = this.trailingSpace;
    if (n > room) {
      const need = Math.ceil((n - room) / size);
      if (need > p.segmentsFree) {
        p.segFailures++;
        return false;
      }
    }
    let left = n;
    const take = room < left ? room : left;
    p.segLen[t] = p.segLen[t]! + take;
    left -= take;
    while (left > 0) {
      const s = p.popSeg(t);
      p.segStart[s] = s * size;
      const k = left < size ? left : size;
      p.segLen[s] = k;
      p.segNext[t] = s;
      t = s;
      this.segCount++;
      left -= k;
    }
    this.lastSeg = t;
    this.length += n;
    return true;
  }

  /**
   * Appends n bytes (1 ≤ n ≤ segmentSize) to a non-empty packet in a segment of their own, from its buffer's first byte
   * (a new cluster linked at the tail, as m_getcl + m_cat would); the bytes are not written.
   * Returns their offset in pool.data, or -1 (counted in segFailures) when no segment is free.
   */
  appendSegment(n: number): number {
    const p = this.pool;
    const size = p.segmentSize;
    if (!Number.isInteger(n) || n < 1 || n > size) throw new RangeError(`appendSegment: ${n} bytes`);
    // Only an empty packet has an empty first segment: a segment after it would break that.
    if (this.length === 0) throw new RangeError('appendSegment: the packet is empty');
    if (p.segmentsFree === 0) {
      p.segFailures++;
      return -1;
    }
    // The buffer after the last one when free: the chain's bytes stay one run (Mempool.takeFree).
    const s = p.popSeg(this.lastSeg);
    p.segStart[s] = s * size;
    p.segLen[s] = n;
    p.segNext[this.lastSeg] = s;
    this.lastSeg = s;
    this.segCount++;
    this.length += n;
    return s * size;
  }

  /**
   * Removes n bytes from the front (m_adj with n > 0); segments emptied on the way are freed.
   * @mirrors uipc_mbuf.c:m_adj
   */
  adj(n: number): void {
    byteCount(n);
    if (n === 0) return;
    if (n >= this.length) {
      this.reset();
      return;
    }
    const p = this.pool;
    this.length -= n;
    let h = this.firstSeg;
    while (n > 0) {
      const l = p.segLen[h]!;
      if (l <= n) {
        // length > 0 remains, so a next segment exists.
        const next = p.segNext[h]!;
        p.pushSeg(h);
        this.segCount--;
        h = next;
        n -= l;
      } else {
        p.segStart[h] = p.segStart[h]! + n;
        p.segLen[h] = l - n;
        n = 0;
      }
    }
    this.firstSeg = h;
  }

  /**
   * Removes n bytes from the end (m_adj with n < 0); emptied segments are freed.
   * @mirrors uipc_mbuf.c:m_adj
   */
  trim(n: number): void {
    byteCount(n);
    if (n === 0) return;
    if (n >= this.length) {
      this.reset();
      return;
    }
    const p = this.pool;
    const keep = this.length - n;
    let s = this.firstSeg;
    let acc = p.segLen[s]!;
    while (acc < keep) {
      s = p.segNext[s]!;
      acc += p.segLen[s]!;
    }
    p.segLen[s] = p.segLen[s]! - (acc - keep);
    this.freeAfter(s);
    this.length = keep;
  }

  /**
   * Makes the first n bytes contiguous in the first segment (m_pullup), keeping as much headroom
   * as fits, so headers can be parsed at pool.data[dataOffset...]. False if n exceeds the packet
   * or a segment.
   * @mirrors uipc_mbuf.c:m_pullup
   */
  pullup(n: number): boolean {
    byteCount(n);
    const p = this.pool;
    const h = this.firstSeg;
    const hl = p.segLen[h]!;
    if (hl >= n) return true;
    if (n > this.length || n > p.segmentSize) return false;
    const end = (h + 1) * p.segmentSize;
    let start = p.segStart[h]!;
    if (end - start < n) {
      const to = end - n;
      p.data.copyWithin(to, start, start + hl);
      start = to;
      p.segStart[h] = to;
    }
    let have = hl;
    let s = p.segNext[h]!;
    while (have < n) {
      const l = p.segLen[s]!;
      const want = n - have;
      const k = l < want ? l : want;
      const from = p.segStart[s]!;
      p.data.copyWithin(start + have, from, from + k);
      have += k;
      if (k === l) {
        const next = p.segNext[s]!;
        p.pushSeg(s);
        this.segCount--;
        if (this.lastSeg === s) this.lastSeg = h;
        s = next;
      } else {
        p.segStart[s] = from + k;
        p.segLen[s] = l - k;
      }
    }
    p.segNext[h] = s;
    p.segLen[h] = have;
    return true;
  }

  /**
   * Copies packet bytes [off, off+len) to dst at dstOff (m_copydata); returns len.
   * @mirrors uipc_mbuf.c:m_copydata
   */
  copyTo(dst: Uint8Array, dstOff = 0, off = 0, len = this.length - off, dstViews?: WordViews): number {
    checkRange(off, len, this.length, 'copyTo: packet range');
    checkRange(dstOff, len, dst.length, 'copyTo: destination range');
    if (len === 0) return 0;
    const p = this.pool;
    // Storages compared through the views' copies of .buffer when there are views (a read of it
    // is a call in node 20, copy.ts's WordViews).
    const dstBuffer = dstViews !== undefined ? dstViews.buffer : dst.buffer;
    const fill = dst instanceof Buffer && dstBuffer !== (registeredViews(p.data)?.buffer ?? p.data.buffer);
    this.locate(off);
    let s = this.locSeg;
    let so = this.locOff;
    let done = 0;
    while (done < len) {
      const at = p.segStart[s]! + so;
      const k = this.run(s, so, len - done);
      s = this.runLast;
      // Into a Buffer (a socket's receive chunk): node's fill, a memcpy from a view kept by the
      // pool, whatever the alignment of either end and with no view per copy. A copy touching
      // shared memory through `set` or copyWithin runs byte by byte unless both ends are aligned
      // alike modulo 8, and the word loop moves ~3 GB/s against fill's ~9 (2 KiB, this VM).
      const from = fill && k >= FILL_MIN ? p.viewFrom(at) : null;
      if (from !== null) (dst as Buffer).fill(from, dstOff + done, dstOff + done + k);
      else copyBytes(dst, dstOff + done, p.data, at, k, dstViews);
      done += k;
      s = p.segNext[s]!;
      so = 0;
    }
    return len;
  }

  /**
   * Replaces the packet's bytes with src[srcOff, srcOff+len) (m_devget); meta is kept.
   * @mirrors uipc_mbuf.c:m_devget
   */
  copyFrom(src: Uint8Array, srcOff: number, len: number): boolean {
    this.reset();
    return this.append(src, srcOff, len);
  }

  /**
   * Overwrites packet bytes [off, off+len) with src[srcOff...] (m_copyback within the packet).
   * @mirrors uipc_mbuf.c:m_copyback
   */
  write(off: number, src: Uint8Array, srcOff: number, len: number): void {
    checkRange(off, len, this.length, 'write: packet range');
    checkRange(srcOff, len, src.length, 'write: source range');
    if (len === 0) return;
    const p = this.pool;
    this.locate(off);
    let s = this.locSeg;
    let so = this.locOff;
    let done = 0;
    while (done < len) {
      const at = p.segStart[s]! + so;
      const k = this.run(s, so, len - done);
      s = this.runLast;
      copyBytes(p.data, at, src, srcOff + done, k);
      done += k;
      s = p.segNext[s]!;
      so = 0;
    }
  }

  /** Byte at packet offset off. */
  getU8(off: number): number {
    this.check(off, 1);
    this.locate(off);
    return this.pool.data[this.pool.segStart[this.locSeg]! + this.locOff]!;
  }

  setU8(off: number, v: number): void {
    this.check(off, 1);
    this.locate(off);
    this.pool.data[this.pool.segStart[this.locSeg]! + this.locOff] = v;
  }

  /** Big-endian 16-bit value at packet offset off (may straddle segments). */
  getU16(off: number): number {
    this.check(off, 2);
    return (this.getU8(off) << 8) | this.getU8(off + 1);
  }

  setU16(off: number, v: number): void {
    this.check(off, 2);
    this.setU8(off, (v >>> 8) & 0xff);
    this.setU8(off + 1, v & 0xff);
  }

  /** Big-endian 32-bit value at packet offset off. */
  getU32(off: number): number {
    this.check(off, 4);
    return ((this.getU16(off) << 16) | this.getU16(off + 2)) >>> 0;
  }

  setU32(off: number, v: number): void {
    this.check(off, 4);
    this.setU16(off, (v >>> 16) & 0xffff);
    this.setU16(off + 2, v & 0xffff);
  }

  /**
   * Calls fn(pool.data, start, len) for each non-empty segment in order. Pass a function made once
   * (not a closure per packet); or walk firstSeg / pool.segNext / segStart / segLen directly.
   */
  forEachSegment(fn: (buf: Uint8Array, off: number, len: number) => void): void {
    const p = this.pool;
    for (let s = this.firstSeg; s >= 0; s = p.segNext[s]!) {
      const l = p.segLen[s]!;
      if (l > 0) fn(p.data, p.segStart[s]!, l);
    }
  }

  private check(off: number, n: number): void {
    checkRange(off, n, this.length, 'packet offset');
  }

  /** Finds the segment holding packet offset off (< length) into locSeg/locOff. */
  /**
   * Bytes from offset so of segment s on, up to `want`, that lie back to back in packet memory
   * across the chain's next segments (one copy moves them); sets runLast to the run's last segment.
   */
  private run(s: number, so: number, want: number): number {
    const p = this.pool;
    const at = p.segStart[s]! + so;
    let avail = p.segLen[s]! - so;
    for (let n = p.segNext[s]!; avail < want && n >= 0 && p.segStart[n] === at + avail; n = p.segNext[n]!) {
      avail += p.segLen[n]!;
      s = n;
    }
    this.runLast = s;
    return avail < want ? avail : want;
  }

  private locate(off: number): void {
    const p = this.pool;
    let s = this.firstSeg;
    let l = p.segLen[s]!;
    while (off >= l) {
      off -= l;
      s = p.segNext[s]!;
      l = p.segLen[s]!;
    }
    this.locSeg = s;
    this.locOff = off;
  }

  /** Frees every segment after s and makes s the last one. */
  private freeAfter(s: number): void {
    const p = this.pool;
    let x = p.segNext[s]!;
    while (x >= 0) {
      const next = p.segNext[x]!;
      p.pushSeg(x);
      this.segCount--;
      x = next;
    }
    p.segNext[s] = -1;
    this.lastSeg = s;
  }
}

/** [off, off+len) must be an integer range inside [0, total). */
function checkRange(off: number, len: number, total: number, what: string): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > total) {
    throw new RangeError(`${what}: ${off}+${len} outside 0..${total}`);
  }
}

/** Sizes are non-negative integers; anything else is a caller bug, not packet data. */
function byteCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`byte count ${n} is not a non-negative integer`);
}
