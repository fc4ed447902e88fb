// Send buffer with retransmission bookkeeping: a ring of `capacity` bytes holding
// [SND.UNA, SND.UNA + length), plus the pointers the sender needs (SND.NXT, SND.MAX) and counters
// (per-segment state lives in rtx-queue.ts). Like the kernel's write queue + rtx queue (tcp_sendmsg/tcp_clean_rtx_queue)
// flattened into one byte ring: segments are cut at transmit time, so TSO super-frames and
// MSS-sized segments come from the same bytes.
import { COPY_SITE, countCopy } from '../../copycount/index.ts';
import { copyBytes, registerCopyViews, type Mbuf } from '../../mbuf/index.ts';
import { seqAdd, seqDiff, seqGt, seqLt, seqMin } from './seq.ts';

/** Below this, the word loop costs less than node's fill call. */
const FILL_MIN = 256;

export class SendBuffer {
  readonly buf: Uint8Array;
  /** SND.UNA: oldest unacknowledged byte (the first byte held). */
  una = 0;
  /** Bytes held (unacknowledged + unsent). */
  length = 0;
  /** SND.NXT: next byte to send (moves back on an RTO, RFC 6298 (5.4) go-back). */
  nxt = 0;
  /** SND.MAX: highest byte ever sent + 1. */
  max = 0;
  /** Ring index of `una`. */
  private headPos = 0;
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
    this.una = seq;
    this.nxt = seq;
    this.max = seq;
    this.length = 0;
    this.headPos = 0;
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

  /** Appends up to `len` bytes of src[off...]. Returns the bytes taken (less than len when full). */
  write(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.space);
    if (n <= 0) return 0;
    const p = (this.headPos + this.length) % this.capacity;
    const first = Math.min(n, this.capacity - p);
    copyBytes(this.buf, p, src, off, first);
    if (first < n) copyBytes(this.buf, 0, src, off + first, n - first);
    countCopy(COPY_SITE.sndbufIn, n);
    this.length += n;
    return n;
  }

  /** Ring index of byte `seq` (in [una, end)); the bytes up to the ring's end are contiguous. */
  ringIndex(seq: number): number {
    return (this.headPos + seqDiff(seq, this.una)) % this.capacity;
  }

  /**
   * Appends bytes [seq, seq+len) (within [una, end)) to the end of m, cut where the ring's blocks
   * of m's segment size end: a piece that fits goes on in m's last segment, any other starts a
   * segment of its own (Mbuf.appendSegment). After the first piece every piece starts at a block,
   * so it is copied by node's fill (a memcpy) from a view of the ring kept per block, with no
   * view per packet; a copy touching the (shared) packet memory otherwise runs as a word loop at a
   * third of the speed. A super-frame takes one or two slots more than a packed chain would.
   * Returns false, m partly extended, when the pool runs out of segments.
   */
  appendTo(m: Mbuf, seq: number, len: number): boolean {
    const p = m.pool;
    const size = p.segmentSize;
    if (this.blockSize !== size) {
      this.blockSize = size;
      this.blockViews = new Array<Uint8Array | undefined>(Math.ceil(this.capacity / size));
    }
    let pos = this.ringIndex(seq);
    let left = len;
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
        if (at < 0) return false;
      }
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
      pos += k;
      if (pos === this.capacity) pos = 0;
      left -= k;
    }
    return true;
  }

  /** Copies bytes [seq, seq+len) to dst[dstOff...]. The range must lie in [una, end). */
  copyOut(seq: number, len: number, dst: Uint8Array, dstOff: number): void {
    const p = (this.headPos + seqDiff(seq, this.una)) % this.capacity;
    const first = Math.min(len, this.capacity - p);
    dst.set(this.buf.subarray(p, p + first), dstOff);
    if (first < len) dst.set(this.buf.subarray(0, len - first), dstOff + first);
  }

  /**
   * A cumulative ACK for `ack` (already validated as SND.UNA < ack <= SND.MAX by the caller).
   * Frees the acknowledged bytes, clamped to what is held (a FIN occupies sequence space but no
   * byte). Returns the sequence space acknowledged.
   */
  ack(ack: number): number {
    const adv = seqDiff(ack, this.una);
    if (adv <= 0) return 0;
    const freed = Math.min(adv, this.length);
    this.headPos = (this.headPos + freed) % this.capacity;
    this.length -= freed;
    this.una = ack;
    if (seqLt(this.nxt, ack)) this.nxt = ack;
    return adv;
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
