// Receive buffer with the out-of-order reassembly queue folded in: one ring of `capacity` bytes
// indexed by sequence number. In-order data advances RCV.NXT; data inside the window but above
// RCV.NXT is copied to its final place and recorded in a bounded SeqRangeSet (the kernel keeps an
// rbtree of skbs, tcp_data_queue_ofo(); a flat ring avoids a second copy when the hole fills).
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { SeqRangeSet } from './range-set.ts';
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt } from './seq.ts';

export class RecvBuffer {
  readonly buf: Uint8Array;
  /** RCV.NXT: next in-order byte expected. */
  rcvNxt = 0;
  /** Sequence number of the first byte the application has not read. */
  readSeq = 0;
  /** Ring index of readSeq (kept apart from the sequence number, which wraps at 2^32). */
  private readPos = 0;
  readonly ooo: SeqRangeSet;
  /** Start of the most recent out-of-order segment (RFC 2018 §4: first SACK block). */
  private lastOoo = 0;
  /** Output of duplicate(). */
  dupStart = 0;
  dupEnd = 0;
  /** Segments dropped because the out-of-order map was full. */
  oooDrops = 0;

  constructor(
    readonly capacity: number,
    maxOooRanges = 32,
  ) {
    this.buf = new Uint8Array(capacity);
    this.ooo = new SeqRangeSet(maxOooRanges);
  }

  /** Starts the sequence space at `seq` (IRS + 1). */
  init(seq: number): void {
    this.rcvNxt = seq;
    this.readSeq = seq;
    this.readPos = 0;
    this.ooo.clear();
  }

  /** In-order bytes waiting for the application. */
  get readable(): number {
    return seqDiff(this.rcvNxt, this.readSeq);
  }

  /** RCV.WND: room from RCV.NXT to the end of the ring. */
  get window(): number {
    return this.capacity - this.readable;
  }

  /**
   * Stores segment bytes src[off, off+len) carrying sequence `seq`, trimmed to the window: to the
   * ring's room and to `rightEdge`, the right edge of the window the connection advertised
   * (RFC 9293 §3.10.7.4: only the part of a segment inside RCV.WND is processed; bytes the peer was
   * never offered are not kept). Returns the number of bytes RCV.NXT advanced (0 for
   * duplicate/out-of-order data), or -1 when an out-of-order segment was dropped because the
   * reassembly map is full.
   * @mirrors tcp_input.c:tcp_data_queue
   */
  write(seq: number, src: Uint8Array, off: number, len: number, rightEdge?: number): number {
    let s = seq;
    // Trim what is already received (left of RCV.NXT) and what is beyond the window.
    if (seqLt(s, this.rcvNxt)) {
      const cut = seqDiff(this.rcvNxt, s);
      if (cut >= len) return 0;
      off += cut;
      len -= cut;
      s = this.rcvNxt;
    }
    let limit = seqAdd(this.readSeq, this.capacity);
    if (rightEdge !== undefined && seqLt(rightEdge, limit)) limit = rightEdge;
    if (seqGt(seqAdd(s, len), limit)) len = seqDiff(limit, s);
    if (len <= 0) return 0;
    if (s !== this.rcvNxt) {
      const added = this.ooo.add(s, seqAdd(s, len));
      if (added < 0) {
        this.oooDrops++;
        return -1;
      }
      this.lastOoo = s;
      if (added > 0) this.copyIn(s, src, off, len);
      return 0;
    }
    this.copyIn(s, src, off, len);
    const before = this.rcvNxt;
    let nxt = seqAdd(s, len);
    // The hole closed: absorb out-of-order ranges now contiguous.
    this.ooo.removeBelow(nxt);
    nxt = this.ooo.takeFrom(nxt);
    this.rcvNxt = nxt;
    return seqDiff(nxt, before);
  }

  private copyIn(seq: number, src: Uint8Array, off: number, len: number): void {
    const p = (this.readPos + seqDiff(seq, this.readSeq)) % this.capacity;
    const first = Math.min(len, this.capacity - p);
    this.buf.set(src.subarray(off, off + first), p);
    if (first < len) this.buf.set(src.subarray(off + first, off + len), 0);
    countCopy(COPY_SITE.rcvbufIn, len);
  }

  /** Copies up to `len` in-order bytes to dst[dstOff...] and consumes them. Returns bytes copied. */
  read(dst: Uint8Array, dstOff: number, len: number): number {
    const n = Math.min(len, this.readable);
    if (n <= 0) return 0;
    const p = this.readPos;
    const first = Math.min(n, this.capacity - p);
    dst.set(this.buf.subarray(p, p + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
    countCopy(COPY_SITE.rcvbufOut, n);
    this.readSeq = seqAdd(this.readSeq, n);
    this.readPos = (p + n) % this.capacity;
    return n;
  }

  /** Copies the in-order bytes not yet read to dst[dstOff...] without consuming them (a snapshot). */
  peek(dst: Uint8Array, dstOff: number): number {
    const n = this.readable;
    const p = this.readPos;
    const first = Math.min(n, this.capacity - p);
    dst.set(this.buf.subarray(p, p + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
    return n;
  }

  /**
   * Fills out[2·at..2·(at+k)) with up to `max` SACK blocks (RFC 2018 §4): the block holding the
   * latest out-of-order segment first, then the others from the highest down. Returns k.
   */
  sackBlocks(out: Uint32Array, max: number, at = 0): number {
    const r = this.ooo;
    let k = 0;
    const first = r.find(this.lastOoo);
    if (first >= 0 && k < max) {
      out[2 * at] = r.start(first);
      out[2 * at + 1] = r.end(first);
      k = 1;
    }
    for (let i = r.count - 1; i >= 0 && k < max; i--) {
      if (i === first) continue;
      out[2 * (at + k)] = r.start(i);
      out[2 * (at + k) + 1] = r.end(i);
      k++;
    }
    return k;
  }

  /**
   * The part of [seq, seq+len) already held, as an RFC 2883 D-SACK block would report it: below
   * RCV.NXT, or inside an out-of-order range. Sets dupStart/dupEnd and returns true if any.
   */
  duplicate(seq: number, len: number): boolean {
    const end = seqAdd(seq, len);
    if (seqLt(seq, this.rcvNxt)) {
      this.dupStart = seq;
      this.dupEnd = seqLt(end, this.rcvNxt) ? end : this.rcvNxt;
      return true;
    }
    const i = this.ooo.find(seq);
    if (i < 0) return false;
    this.dupStart = seq;
    this.dupEnd = seqLt(end, this.ooo.end(i)) ? end : this.ooo.end(i);
    return true;
  }

  /** True when `seq` lies in [RCV.NXT, RCV.NXT + RCV.WND) (or equals RCV.NXT for a zero window). */
  inWindow(seq: number): boolean {
    return seqLeq(this.rcvNxt, seq) && seqLt(seq, seqAdd(this.rcvNxt, Math.max(1, this.window)));
  }
}
