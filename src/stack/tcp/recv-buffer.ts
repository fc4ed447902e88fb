// Receive buffer with the out-of-order reassembly queue folded in: storage indexed by sequence
// number. In-order data advances RCV.NXT; data inside the window but above RCV.NXT is copied to its
// final place and recorded in a bounded SeqRangeSet (the kernel keeps an rbtree of skbs,
// tcp_data_queue_ofo(); storage indexed by sequence number avoids a second copy when the hole
// fills).
//
// The storage is a run of fixed-size chunks, not one ring, so that read() hands out views instead
// of copies (issue 11): every byte has a position counted from init(), chunk n holds positions
// [n·chunkSize, (n+1)·chunkSize), and a position is written at most once, by the first write that
// covers it at or above the read point. A chunk read to its end is retired from the slot table;
// the views given out keep its memory alive and nothing writes it again. A new chunk is allocated
// when the first byte of it arrives (one allocation per chunkSize bytes, not per segment). Linux
// copies to the user in tcp_recvmsg(); handing out views is closer to tcp_zerocopy_receive(),
// which maps the receive queue's pages instead.
import { copyBytes, wordViews, type Mbuf, type WordViews } from '../../mbuf/index.ts';
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { SeqRangeSet } from './range-set.ts';
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt, seqOf } from './seq.ts';

/** Chunk size of a receive buffer unless the buffer is smaller (one socket read at most). */
const RECV_CHUNK = 64 * 1024;

export class RecvBuffer {
  /** RCV.NXT: next in-order byte expected. */
  rcvNxt = 0;
  /** Sequence number of the first byte the application has not read. */
  readSeq = 0;
  /** Position of readSeq counted from init() (kept apart from the sequence number, which wraps). */
  private readPos = 0;
  readonly chunkSize: number;
  /** Chunk n sits in slot n % slots while it may still be written or read; null once retired. */
  private readonly chunks: (Buffer | null)[];
  /** Word views of each live chunk, for copies into it without a view per segment. */
  private readonly chunkViews: (WordViews | null)[];
  readonly ooo: SeqRangeSet;
  /** Start of the most recent out-of-order segment (RFC 2018 §4: first SACK block). */
  private lastOoo = 0;
  /** Output of duplicate(). */
  dupStart = 0;
  dupEnd = 0;
  /** Segments dropped because the out-of-order map was full. */
  oooDrops = 0;
  /** Chunks allocated since construction. */
  chunksAllocated = 0;
  /**
   * The application takes bytes only through readInto (a socket's onread): no view of a chunk is
   * ever handed out, so a chunk read to its end is kept for the next one instead of left to the
   * garbage collector. A recycled chunk is still in the cache when it is written again; a fresh
   * one is not (64 KiB each, from a heap the collector frees in tens of MB at a time).
   */
  recycleChunks = false;
  /** A retired chunk and its views, kept for reuse while recycleChunks holds. */
  private spare: Buffer | null = null;
  private spareViews: WordViews | null = null;
  /**
   * The application's buffer, lent while its reader waits (a socket's onread between two reads):
   * in-order bytes that arrive with nothing else readable are copied straight into it and count
   * as read, as Linux's tcp_recvmsg let the softirq copy into a waiting reader's iovec (ucopy).
   * `directLen` bytes of it are filled; the socket takes them with takeDirect().
   */
  private direct: Buffer | null = null;
  private directViews: WordViews | null = null;
  private directLen = 0;

  constructor(
    readonly capacity: number,
    maxOooRanges = 32,
    chunkSize = Math.min(capacity, RECV_CHUNK),
  ) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size ${chunkSize}`);
    this.chunkSize = chunkSize;
    // The window spans positions [readPos, readPos + capacity): at most ceil(capacity / chunkSize)
    // + 1 chunks, so chunks that share a slot are never live together.
    this.chunks = new Array<Buffer | null>(Math.ceil(capacity / chunkSize) + 1).fill(null);
    this.chunkViews = new Array<WordViews | null>(this.chunks.length).fill(null);
    this.ooo = new SeqRangeSet(maxOooRanges);
  }

  /** Starts the sequence space at `seq` (IRS + 1). */
  init(seq: number): void {
    this.rcvNxt = seqOf(seq);
    this.readSeq = this.rcvNxt;
    this.readPos = 0;
    this.chunks.fill(null);
    this.chunkViews.fill(null);
    this.ooo.clear();
    this.takeDirect();
  }

  /** In-order bytes waiting for the application. */
  get readable(): number {
    return seqDiff(this.rcvNxt, this.readSeq);
  }

  /** RCV.WND: room from RCV.NXT to the end of the buffer. */
  get window(): number {
    return this.capacity - this.readable;
  }

  /**
   * Stores segment bytes [off, off+len) of `src` carrying sequence `seq`, trimmed to the window: to
   * the buffer's room and to `rightEdge`, the right edge of the window the connection advertised
   * (RFC 9293 §3.10.7.4: only the part of a segment inside RCV.WND is processed; bytes the peer was
   * never offered are not kept). `src` is a flat buffer, or a received frame's mbuf chain (offsets
   * are then packet offsets): the payload goes from the chain's segments straight here. Returns the
   * number of bytes RCV.NXT advanced (0 for duplicate/out-of-order data), or -1 when an
   * out-of-order segment was dropped because the reassembly map is full.
   * @mirrors tcp_input.c:tcp_data_queue
   */
  write(seq: number, src: Uint8Array | Mbuf, off: number, len: number, rightEdge?: number): number {
    let s = seqOf(seq);
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
    const before = this.rcvNxt;
    // Nothing else readable: straight into the application's waiting buffer, as far as it goes.
    let placed = 0;
    const d = this.direct;
    if (d !== null && this.readSeq === s) {
      placed = Math.min(len, d.length - this.directLen);
      if (placed > 0) {
        if (src instanceof Uint8Array) copyBytes(d, this.directLen, src, off, placed, this.directViews!);
        else src.copyTo(d, this.directLen, off, placed, this.directViews!);
        this.directLen += placed;
        this.readPos += placed;
        this.readSeq = seqAdd(this.readSeq, placed);
        countCopy(COPY_SITE.rcvbufOut, placed);
      }
    }
    if (placed < len) this.copyIn(seqAdd(s, placed), src, off + placed, len - placed);
    let nxt = seqAdd(s, len);
    // The hole closed: absorb out-of-order ranges now contiguous.
    this.ooo.removeBelow(nxt);
    nxt = this.ooo.takeFrom(nxt);
    this.rcvNxt = nxt;
    return seqDiff(nxt, before);
  }

  /** Copies src[off, off+len) to the positions of [seq, seq+len), chunk by chunk. */
  private copyIn(seq: number, src: Uint8Array | Mbuf, off: number, len: number): void {
    const size = this.chunkSize;
    let p = this.readPos + seqDiff(seq, this.readSeq);
    let done = 0;
    while (done < len) {
      const n = Math.floor(p / size);
      const at = p - n * size;
      const k = Math.min(len - done, size - at);
      const chunk = this.chunk(n);
      const views = this.chunkViews[n % this.chunks.length]!;
      if (src instanceof Uint8Array) copyBytes(chunk, at, src, off + done, k, views);
      else src.copyTo(chunk, at, off + done, k, views);
      done += k;
      p += k;
    }
    countCopy(COPY_SITE.rcvbufIn, len);
  }

  /** Chunk n, allocated when its first byte arrives. */
  private chunk(n: number): Buffer {
    const slot = n % this.chunks.length;
    let c = this.chunks[slot] ?? null;
    if (c === null) {
      if (this.spare !== null) {
        c = this.spare;
        this.chunkViews[slot] = this.spareViews;
        this.spare = null;
        this.spareViews = null;
      } else {
        // Not zero-filled: only bytes written by copyIn are ever handed out.
        c = Buffer.allocUnsafeSlow(this.chunkSize);
        // Packet payload lands here segment by segment: copies without a view per segment. The
        // views stay with the chunk, not in copy.ts's registry (see wordViews).
        this.chunkViews[slot] = wordViews(c);
        this.chunksAllocated++;
      }
      this.chunks[slot] = c;
    }
    return c;
  }

  /**
   * Consumes up to `max` in-order bytes and returns them as a view of the buffer's memory (no
   * copy), or null when none is readable. A view never crosses a chunk boundary, so it may hold
   * fewer bytes than are readable; the bytes it shows are never written again.
   */
  read(max: number): Buffer | null {
    const size = this.chunkSize;
    const p = this.readPos;
    const n = Math.floor(p / size);
    const at = p - n * size;
    const k = Math.min(max, this.readable, size - at);
    if (k <= 0) return null;
    const slot = n % this.chunks.length;
    const view = this.chunks[slot]!.subarray(at, at + k);
    this.readPos = p + k;
    this.readSeq = seqAdd(this.readSeq, k);
    // Read to its end: the chunk leaves the table, its memory now belongs to the views.
    if (at + k === size) {
      this.chunks[slot] = null;
      this.chunkViews[slot] = null;
    }
    return view;
  }

  /**
   * Lends `buf` for direct placement (see `direct`); the previous loan must have been taken back.
   * `views`: buf's word views (wordViews), made by the lender once per buffer.
   */
  lendDirect(buf: Buffer, views: WordViews): void {
    this.direct = buf;
    this.directViews = views;
    this.directLen = 0;
  }

  /** Ends the loan; returns how many bytes were placed in the buffer (already counted as read). */
  takeDirect(): number {
    const n = this.directLen;
    this.direct = null;
    this.directViews = null;
    this.directLen = 0;
    return n;
  }

  /**
   * Consumes up to `max` in-order bytes into dst[dstOff...] (a copy, as tcp_recvmsg does into the
   * user's buffer); returns how many. With recycleChunks a chunk read to its end is kept for reuse.
   * @mirrors tcp.c:tcp_recvmsg
   */
  readInto(dst: Uint8Array, dstOff: number, max: number): number {
    const size = this.chunkSize;
    const n = Math.min(max, this.readable, dst.length - dstOff);
    let done = 0;
    while (done < n) {
      const p = this.readPos;
      const c = Math.floor(p / size);
      const at = p - c * size;
      const k = Math.min(n - done, size - at);
      const slot = c % this.chunks.length;
      const chunk = this.chunks[slot]!;
      copyBytes(dst, dstOff + done, chunk, at, k);
      done += k;
      this.readPos = p + k;
      if (at + k === size) {
        if (this.recycleChunks && this.spare === null) {
          this.spare = chunk;
          this.spareViews = this.chunkViews[slot]!;
        }
        this.chunks[slot] = null;
        this.chunkViews[slot] = null;
      }
    }
    this.readSeq = seqAdd(this.readSeq, n);
    if (n > 0) countCopy(COPY_SITE.rcvbufOut, n);
    return n;
  }

  /** Copies the in-order bytes not yet read to dst[dstOff...] without consuming them (a snapshot). */
  peek(dst: Uint8Array, dstOff: number): number {
    const size = this.chunkSize;
    const n = this.readable;
    let p = this.readPos;
    // The chunks of [readPos, readPos + readable) are live: a chunk is retired only once read to its end.
    for (let done = 0; done < n;) {
      const c = Math.floor(p / size);
      const at = p - c * size;
      const k = Math.min(n - done, size - at);
      dst.set(this.chunks[c % this.chunks.length]!.subarray(at, at + k), dstOff + done);
      done += k;
      p += k;
    }
    return n;
  }

  /**
   * Fills out[2·at..2·(at+k)) with up to `max` SACK blocks (RFC 2018 §4): the block holding the
   * latest out-of-order segment first, then the others from the highest down. Returns k.
   */
  sackBlocks(out: Int32Array, max: number, at = 0): number {
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
