// Send buffer with retransmission bookkeeping: a ring of `capacity` bytes holding
// [SND.UNA, SND.UNA + length), plus the pointers the sender needs (SND.NXT, SND.MAX) and counters
// (per-segment state lives in rtx-queue.ts). Like the kernel's write queue + rtx queue (tcp_sendmsg/tcp_clean_rtx_queue)
// flattened into one byte ring: segments are cut at transmit time, so TSO super-frames and
// MSS-sized segments come from the same bytes.
//
// A zero-copy write (MSG_ZEROCOPY, writeRef) is not copied into the ring: the buffer holds a
// reference to the caller's bytes until they are acknowledged, and segments are copied from there
// straight into packet memory, as tcp_sendmsg_locked's zerocopy path pins user pages into skb
// frags. While any such reference is held, [una, end) is described by a list of pieces, each
// either ring bytes or one referenced range; with none held, the ring alone holds every byte, in
// order from headPos, and the pieces are not used (the common path pays nothing for the feature).
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { FILL_MIN, copyBytes, registerCopyViews, type Mbuf, type MbufPool } from '../../mbuf/index.ts';
import { seqAdd, seqDiff, seqGt, seqLt, seqMin, seqOf } from './seq.ts';

/** Spent pieces at the list's front before it is compacted. */
const COMPACT_AT = 64;

export class SendBuffer {
  readonly buf: Uint8Array;
  /** SND.UNA: oldest unacknowledged byte (the first byte held). */
  una = 0;
  /** Bytes held (unacknowledged + unsent), in the ring and referenced. */
  length = 0;
  /** SND.NXT: next byte to send (moves back on an RTO, RFC 6298 (5.4) go-back). */
  nxt = 0;
  /** SND.MAX: highest byte ever sent + 1. */
  max = 0;
  /** Ring index of the oldest ring byte held. */
  private headPos = 0;
  /** Bytes held in the ring (contiguous from headPos, in sequence order). */
  private ringLen = 0;
  /** Bytes held by reference (zero-copy writes); the pieces below exist only while this is > 0. */
  private refBytes = 0;
  /** The pieces of [una, end) from pHead on: length, source (null: the ring), offset in it. */
  private readonly pLen: number[] = [];
  private readonly pSrc: (Uint8Array | null)[] = [];
  private readonly pOff: number[] = [];
  private pHead = 0;
  /** The piece a lookup last found and its first sequence number (sequential sends start there). */
  private curIdx = 0;
  private curSeq = 0;
  /** appendTo's views of the ring, from the first byte of each block on; and the block size. */
  private blockViews: (Uint8Array | undefined)[] = [];
  private blockSize = 0;
  /** Bytes sent again (all causes) and the number of such segments. */
  retransmittedBytes = 0;
  retransmits = 0;

  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity);
    // Segments are copied from here into packet memory: word copies, no view per segment.
    registerCopyViews(this.buf);
  }

  /** Starts the sequence space at `seq` (ISS + 1). */
  init(seq: number): void {
    this.una = seqOf(seq);
    this.nxt = this.una;
    this.max = this.una;
    this.length = 0;
    this.headPos = 0;
    this.ringLen = 0;
    this.dropAllPieces();
  }

  get space(): number {
    return this.capacity - this.length;
  }

  /** Sequence number one past the last byte held. */
  get end(): number {
    return seqAdd(this.una, this.length);
  }

  /** Bytes held but never sent (from SND.MAX). */
  get unsent(): number {
    return seqDiff(this.end, this.max);
  }

  /** FlightSize (RFC 5681): SND.MAX - SND.UNA. */
  get flightSize(): number {
    return seqDiff(this.max, this.una);
  }

  /** Bytes held by reference to a caller's memory (zero-copy writes not yet acknowledged). */
  get referenced(): number {
    return this.refBytes;
  }

  /** Appends up to `len` bytes of src[off...], copied. Returns the bytes taken (less than len when full). */
  write(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.space);
    if (n <= 0) return 0;
    const cap = this.capacity;
    const p = (this.headPos + this.ringLen) % cap;
    const first = Math.min(n, cap - p);
    copyBytes(this.buf, p, src, off, first);
    if (first < n) copyBytes(this.buf, 0, src, off + first, n - first);
    countCopy(COPY_SITE.sndbufIn, n);
    if (this.refBytes > 0) {
      const last = this.pLen.length - 1;
      // Ring bytes right after ring bytes: one piece (ring pieces may wrap).
      if (this.pSrc[last] === null && (this.pOff[last]! + this.pLen[last]!) % cap === p)
        this.pLen[last]! += n;
      else this.pushPiece(n, null, p);
    }
    this.ringLen += n;
    this.length += n;
    return n;
  }

  /**
   * Appends up to `len` bytes of src[off...] by reference (MSG_ZEROCOPY): nothing is copied, and
   * src must not change until the bytes are acknowledged or released (materialize). Returns the
   * bytes taken. They count against the capacity as copied ones do (sk_wmem_queued).
   * @mirrors tcp.c:tcp_sendmsg_locked
   */
  writeRef(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.space);
    if (n <= 0) return 0;
    // The first reference: the ring's bytes become the first piece.
    if (this.refBytes === 0 && this.ringLen > 0) this.pushPiece(this.ringLen, null, this.headPos);
    this.pushPiece(n, src, off);
    this.refBytes += n;
    this.length += n;
    return n;
  }

  /**
   * Moves every byte held into the ring, so that no caller's memory is used any longer (the socket
   * is destroyed while the connection still sends, as an orphan). The ring has room: referenced
   * bytes count against the same capacity. One copy of what is held, through a scratch array;
   * a rare path.
   */
  materialize(): void {
    if (this.refBytes === 0) return;
    const all = new Uint8Array(this.length);
    this.copyOut(this.una, this.length, all, 0);
    this.buf.set(all, 0);
    this.headPos = 0;
    this.ringLen = this.length;
    this.dropAllPieces();
  }

  private pushPiece(len: number, src: Uint8Array | null, off: number): void {
    this.pLen.push(len);
    this.pSrc.push(src);
    this.pOff.push(off);
  }

  private dropAllPieces(): void {
    this.pLen.length = 0;
    this.pSrc.length = 0;
    this.pOff.length = 0;
    this.pHead = 0;
    this.curIdx = 0;
    this.refBytes = 0;
  }

  /** Ring index of byte `seq` (in [una, end)) while the ring holds every byte. */
  private ringIndex(seq: number): number {
    return (this.headPos + seqDiff(seq, this.una)) % this.capacity;
  }

  /**
   * The piece holding byte `seq` (in [una, end)); sets curIdx/curSeq to it. Lookups for the next
   * segment start from the last piece found, so a stream walks each piece once.
   */
  private find(seq: number): number {
    let i = this.pHead;
    let s = this.una;
    if (this.curIdx > this.pHead && this.curIdx < this.pLen.length && !seqLt(seq, this.curSeq)) {
      i = this.curIdx;
      s = this.curSeq;
    }
    while (!seqLt(seq, seqAdd(s, this.pLen[i]!))) {
      if (i + 1 >= this.pLen.length) throw new RangeError(`SendBuffer: ${seq} is not held`);
      s = seqAdd(s, this.pLen[i]!);
      i++;
    }
    this.curIdx = i;
    this.curSeq = s;
    return i;
  }

  /**
   * Appends bytes [seq, seq+len) (within [una, end)) to the end of m, cut where the ring's blocks
   * of m's segment size end: a piece that fits goes on in m's last segment, any other starts a
   * segment of its own (Mbuf.appendSegment). After the first piece every piece starts at a block,
   * so it is copied by node's fill (a memcpy) from a view of the ring kept per block, with no
   * view per packet; a copy touching the (shared) packet memory otherwise runs as a word loop at a
   * third of the speed. A super-frame takes one or two slots more than a packed chain would.
   * Referenced bytes go straight from the caller's memory into the segments.
   * Returns false, m partly extended, when the pool runs out of segments.
   */
  appendTo(m: Mbuf, seq: number, len: number): boolean {
    if (this.refBytes === 0) return this.appendRing(m, this.ringIndex(seq), len);
    let i = this.find(seq);
    let within = seqDiff(seq, this.curSeq);
    let left = len;
    while (left > 0) {
      const k = Math.min(left, this.pLen[i]! - within);
      const src = this.pSrc[i]!;
      const at = this.pOff[i]! + within;
      // Referenced bytes: m_append, whose copy into packet memory is a memcpy (copyBytes).
      const ok = src === null ? this.appendRing(m, at % this.capacity, k) : m.append(src, at, k);
      if (!ok) return false;
      left -= k;
      within = 0;
      i++;
    }
    return true;
  }

  /**
   * appendTo for `len` ring bytes from ring index pos. Pieces that continue both the ring run and
   * the pool run before them (the pool gives a chain consecutive buffers when it can) are copied
   * together: a 64 KiB super-frame is then two fills instead of 32 (Mempool.takeFree).
   */
  private appendRing(m: Mbuf, pos: number, len: number): boolean {
    const p = m.pool;
    const size = p.segmentSize;
    if (this.blockSize !== size) {
      this.blockSize = size;
      this.blockViews = new Array<Uint8Array | undefined>(Math.ceil(this.capacity / size));
    }
    let left = len;
    // The run not copied yet: ring bytes [runPos, runPos + runLen) to pool bytes from runAt.
    let runPos = pos;
    let runAt = 0;
    let runLen = 0;
    while (left > 0) {
      const block = Math.floor(pos / size);
      const k = Math.min(left, Math.min((block + 1) * size, this.capacity) - pos);
      let at: number;
      if (k <= m.trailingSpace) {
        const t = m.lastSeg;
        at = p.segStart[t]! + p.segLen[t]!;
        m.extend(k);
      } else {
        at = m.appendSegment(k);
        if (at < 0) {
          this.copyRun(p, runPos, runAt, runLen);
          return false;
        }
      }
      // Only a run from a block's start grows: its copy is a fill from the block's view.
      if (runLen !== 0 && at === runAt + runLen && pos === runPos + runLen && runPos % size === 0) {
        runLen += k;
      } else {
        this.copyRun(p, runPos, runAt, runLen);
        runPos = pos;
        runAt = at;
        runLen = k;
      }
      pos += k;
      if (pos === this.capacity) pos = 0;
      left -= k;
    }
    this.copyRun(p, runPos, runAt, runLen);
    return true;
  }

  /**
   * Copies ring bytes [pos, pos + k) to pool bytes from at: node's fill (a memcpy) from a view of
   * the ring kept per block when the run starts at one, else a word copy (a copy touching the
   * shared packet memory otherwise runs at a third of the speed).
   */
  private copyRun(p: MbufPool, pos: number, at: number, k: number): void {
    if (k === 0) return;
    const size = p.segmentSize;
    const block = Math.floor(pos / size);
    if (pos === block * size && k >= FILL_MIN) {
      let v = this.blockViews[block];
      if (v === undefined) {
        v = this.buf.subarray(pos);
        this.blockViews[block] = v;
      }
      p.bytes.fill(v, at, at + k);
    } else {
      copyBytes(p.data, at, this.buf, pos, k);
    }
  }

  /** Overwrites m's bytes [off, off+len) with bytes [seq, seq+len) (within [una, end)). */
  writeInto(m: Mbuf, off: number, seq: number, len: number): void {
    this.copyRuns(seq, len, m, null, off);
  }

  /** Copies bytes [seq, seq+len) to dst[dstOff...]. The range must lie in [una, end). */
  copyOut(seq: number, len: number, dst: Uint8Array, dstOff: number): void {
    this.copyRuns(seq, len, null, dst, dstOff);
  }

  /** Bytes [seq, seq+len) to m's bytes from off, or else to dst from off (no closure: a per-segment path). */
  private copyRuns(seq: number, len: number, m: Mbuf | null, dst: Uint8Array | null, off: number): void {
    let done = 0;
    if (this.refBytes === 0) {
      this.copyRing(this.ringIndex(seq), len, m, dst, off);
      return;
    }
    let i = this.find(seq);
    let within = seqDiff(seq, this.curSeq);
    while (done < len) {
      const k = Math.min(len - done, this.pLen[i]! - within);
      const src = this.pSrc[i]!;
      const at = this.pOff[i]! + within;
      if (src === null) this.copyRing(at % this.capacity, k, m, dst, off + done);
      else copyRun(src, at, k, m, dst, off + done);
      done += k;
      within = 0;
      i++;
    }
  }

  /** n ring bytes from ring index pos (two runs where the ring wraps). */
  private copyRing(pos: number, n: number, m: Mbuf | null, dst: Uint8Array | null, off: number): void {
    const first = Math.min(n, this.capacity - pos);
    copyRun(this.buf, pos, first, m, dst, off);
    if (first < n) copyRun(this.buf, 0, n - first, m, dst, off + first);
  }

  /**
   * A cumulative ACK for `ack` (already validated as SND.UNA < ack <= SND.MAX by the caller).
   * Frees the acknowledged bytes, clamped to what is held (a FIN occupies sequence space but no
   * byte), and lets go of the references that held them. Returns the sequence space acknowledged.
   */
  ack(ack: number): number {
    const adv = seqDiff(ack, this.una);
    if (adv <= 0) return 0;
    const freed = Math.min(adv, this.length);
    if (this.refBytes === 0) {
      this.headPos = (this.headPos + freed) % this.capacity;
      this.ringLen -= freed;
    } else {
      this.dropPieces(freed);
    }
    this.length -= freed;
    this.una = ack;
    if (seqLt(this.nxt, ack)) this.nxt = ack;
    return adv;
  }

  /** Frees the first n bytes of the pieces; with no reference left, the ring alone holds the rest. */
  private dropPieces(n: number): void {
    const cap = this.capacity;
    let i = this.pHead;
    while (n > 0) {
      const l = this.pLen[i]!;
      const k = Math.min(l, n);
      if (this.pSrc[i] === null) {
        this.headPos = (this.headPos + k) % cap;
        this.ringLen -= k;
      } else {
        this.refBytes -= k;
      }
      if (k === l) {
        // The caller's memory is let go at once (MSG_ZEROCOPY's completion).
        this.pSrc[i] = null;
        i++;
      } else {
        this.pLen[i] = l - k;
        this.pOff[i] = this.pOff[i]! + k;
      }
      n -= k;
    }
    this.pHead = i;
    if (this.refBytes === 0) {
      this.dropAllPieces();
    } else if (i >= COMPACT_AT && i * 2 >= this.pLen.length) {
      this.pLen.splice(0, i);
      this.pSrc.splice(0, i);
      this.pOff.splice(0, i);
      this.curIdx = Math.max(0, this.curIdx - i);
      this.pHead = 0;
    }
  }

  /** Records a transmission of [seq, seq+len) (len counts a SYN/FIN too). */
  markSent(seq: number, len: number): void {
    const end = seqAdd(seq, len);
    if (seqLt(seq, this.max)) {
      this.retransmits++;
      this.retransmittedBytes += seqDiff(seqMin(end, this.max), seq);
    }
    if (seqGt(end, this.nxt)) this.nxt = end;
    if (seqGt(end, this.max)) this.max = end;
  }

  /** Counts a loss-recovery retransmission of `len` bytes (SND.NXT and SND.MAX stay). */
  markRetransmit(len: number): void {
    this.retransmits++;
    this.retransmittedBytes += len;
  }

  /** RTO go-back (RFC 6298 (5.4), RFC 6675 §5.1): resend from SND.UNA. */
  rewind(): void {
    this.nxt = this.una;
  }
}

/** src[pos, pos+k) over m's bytes from off, or else into dst from off. */
function copyRun(
  src: Uint8Array,
  pos: number,
  k: number,
  m: Mbuf | null,
  dst: Uint8Array | null,
  off: number,
): void {
  if (m !== null) m.write(off, src, pos, k);
  else copyBytes(dst!, off, src, pos, k);
}
