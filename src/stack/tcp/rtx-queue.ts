// Per-segment state of the bytes in flight, [SND.UNA, SND.MAX): one record per transmission unit
// (a segment or a TSO super-frame as it was sent, split where an ACK, a SACK block or a
// retransmission cuts it), with the time it was last sent and the tags the kernel keeps on the
// skbs of its retransmission queue (TCPCB_SACKED_ACKED, TCPCB_LOST, TCPCB_SACKED_RETRANS,
// TCPCB_EVER_RETRANS). RFC 6675's pipe and NextSeg and RFC 8985's RACK read it. The records tile
// [SND.UNA, SND.MAX) without gaps, in sequence order, in preallocated typed arrays: nothing here
// allocates.
import { seqAdd, seqDiff, seqEq, seqGt, seqLeq, seqLt, seqMax, seqMin, seqOf } from './seq.ts';

/** The peer holds the bytes (SACKed). */
export const TAG_SACKED = 1;
/** Judged lost (RFC 6675 IsLost, RACK, or an RTO); a retransmission of it may be in flight (TAG_RETRANS). */
export const TAG_LOST = 2;
/** A retransmission of it is in flight (cleared when the retransmission is judged lost in turn). */
export const TAG_RETRANS = 4;
/** Sent more than once, ever: its delivery is ambiguous (Karn; RACK §6.2 step 2). */
export const TAG_EVER_RETRANS = 8;

/**
 * Told about each record as the peer's ACK or SACK first covers it (RACK's step 2 input): when it
 * was last sent, its place in the order of transmissions, its end and whether it was ever resent.
 */
export interface DeliveryListener {
  delivered(xmitTs: number, xmitOrder: number, endSeq: number, everRetrans: boolean): void;
}

export class RtxQueue {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly times: Float64Array;
  /**
   * Transmission order (a counter per send): which of two segments went later, even within one
   * clock tick, where RFC 8985's tie-break by sequence number would put a retransmission before
   * the higher originals sent in the same millisecond (Linux keeps the tsorted list for this).
   */
  private readonly orders: Float64Array;
  private readonly tags: Uint8Array;
  private txCount = 0;
  /** Number of records. */
  count = 0;
  /** Records that could not be split or appended because the queue was full (coarser state, never wrong data). */
  full = 0;
  /** Upper end of every retransmission still above SND.UNA (RACK scans below it for retransmitted records). */
  private highRetrans = 0;
  /** Output of nextLost() / nextUnsacked() / lastUnsacked(). */
  nextSeq = 0;
  nextLen = 0;

  constructor(readonly capacity = 1024) {
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
    this.orders = new Float64Array(capacity);
    this.tags = new Uint8Array(capacity);
  }

  start(i: number): number {
    return this.starts[i]!;
  }
  end(i: number): number {
    return this.ends[i]!;
  }
  xmitTs(i: number): number {
    return this.times[i]!;
  }
  xmitOrder(i: number): number {
    return this.orders[i]!;
  }
  tag(i: number): number {
    return this.tags[i]!;
  }
  /** Where retransmitted records may still lie: below this, scans must look at every record. */
  get retransLimit(): number {
    return this.highRetrans;
  }

  /** Empty, with SND.UNA at `una`. */
  reset(una: number): void {
    this.count = 0;
    this.highRetrans = seqOf(una);
  }

  /** Index of the record holding `seq`, or -1 (binary search: records are contiguous and ordered). */
  find(seq: number): number {
    const n = this.count;
    if (n === 0) return -1;
    const base = this.starts[0]!;
    const off = seqDiff(seq, base);
    if (off < 0 || off >= seqDiff(this.ends[n - 1]!, base)) return -1;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (seqDiff(this.starts[mid]!, base) <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A first transmission of [seq, seq+len) at SND.MAX, at `now`. */
  sent(seq: number, len: number, now: number): void {
    if (len <= 0) return;
    const n = this.count;
    const end = seqAdd(seq, len);
    if (n === this.capacity) {
      // Full: the last record grows (its bytes share one send time and one verdict).
      this.full++;
      this.ends[n - 1] = end;
      this.times[n - 1] = now;
      this.orders[n - 1] = ++this.txCount;
      return;
    }
    if (n === 0) this.highRetrans = seqOf(seq);
    this.starts[n] = seq;
    this.ends[n] = end;
    this.times[n] = now;
    this.orders[n] = ++this.txCount;
    this.tags[n] = 0;
    this.count = n + 1;
  }

  /** Makes `seq` a record boundary if it falls inside one. False when the queue is full. */
  private split(seq: number): boolean {
    const i = this.find(seq);
    if (i < 0 || seqEq(this.starts[i]!, seq)) return true;
    const n = this.count;
    if (n === this.capacity) {
      this.full++;
      return false;
    }
    this.starts.copyWithin(i + 2, i + 1, n);
    this.ends.copyWithin(i + 2, i + 1, n);
    this.times.copyWithin(i + 2, i + 1, n);
    this.orders.copyWithin(i + 2, i + 1, n);
    this.tags.copyWithin(i + 2, i + 1, n);
    this.starts[i + 1] = seq;
    this.ends[i + 1] = this.ends[i]!;
    this.times[i + 1] = this.times[i]!;
    this.orders[i + 1] = this.orders[i]!;
    this.tags[i + 1] = this.tags[i]!;
    this.ends[i] = seq;
    this.count = n + 1;
    return true;
  }

  /** A retransmission of [seq, seq+len) (within the queue) at `now`. */
  retransmitted(seq: number, len: number, now: number): void {
    if (len <= 0) return;
    const end = seqAdd(seq, len);
    this.split(seq);
    this.split(end);
    const order = ++this.txCount;
    for (let i = Math.max(0, this.find(seq)); i < this.count && seqLt(this.starts[i]!, end); i++) {
      this.times[i] = now;
      this.orders[i] = order;
      this.tags[i] = this.tags[i]! | TAG_RETRANS | TAG_EVER_RETRANS;
    }
    if (seqGt(end, this.highRetrans)) this.highRetrans = end;
  }

  /** Cumulative ACK up to `una`: records below it go, `l` hears of those not SACKed before. */
  ack(una: number, l: DeliveryListener | null): void {
    const n = this.count;
    let k = 0;
    while (k < n && seqLeq(this.ends[k]!, una)) {
      const t = this.tags[k]!;
      if ((t & TAG_SACKED) === 0)
        l?.delivered(this.times[k]!, this.orders[k]!, this.ends[k]!, (t & TAG_EVER_RETRANS) !== 0);
      k++;
    }
    if (k > 0) {
      this.starts.copyWithin(0, k, n);
      this.ends.copyWithin(0, k, n);
      this.times.copyWithin(0, k, n);
      this.orders.copyWithin(0, k, n);
      this.tags.copyWithin(0, k, n);
      this.count = n - k;
    }
    if (this.count > 0 && seqLt(this.starts[0]!, una)) {
      const t = this.tags[0]!;
      if ((t & TAG_SACKED) === 0)
        l?.delivered(this.times[0]!, this.orders[0]!, una, (t & TAG_EVER_RETRANS) !== 0);
      this.starts[0] = una;
    }
    if (seqLt(this.highRetrans, una)) this.highRetrans = una;
  }

  /** A SACK block [start, end) (validated by the scoreboard): tags what it covers, `l` hears of the news. */
  sack(start: number, end: number, l: DeliveryListener | null): void {
    if (this.count === 0) return;
    const s = seqMax(start, this.starts[0]!);
    const e = seqMin(end, this.ends[this.count - 1]!);
    if (!seqLt(s, e)) return;
    this.split(s);
    this.split(e);
    for (let i = Math.max(0, this.find(s)); i < this.count && seqLt(this.starts[i]!, e); i++) {
      const t = this.tags[i]!;
      // A record the block covers only in part (the queue was full) stays unSACKed: conservative.
      if ((t & TAG_SACKED) !== 0 || seqLt(this.starts[i]!, s) || seqGt(this.ends[i]!, e)) continue;
      l?.delivered(this.times[i]!, this.orders[i]!, this.ends[i]!, (t & TAG_EVER_RETRANS) !== 0);
      this.tags[i] = TAG_SACKED | (t & TAG_EVER_RETRANS);
    }
  }

  /** Marks record i lost; a retransmission of it in flight is lost too (tcp_mark_skb_lost). */
  markLost(i: number): void {
    this.tags[i] = (this.tags[i]! & ~TAG_RETRANS) | TAG_LOST;
  }

  /** RTO: every record not SACKed is lost, retransmissions included (tcp_enter_loss). */
  markAllLost(): void {
    for (let i = 0; i < this.count; i++) if ((this.tags[i]! & TAG_SACKED) === 0) this.markLost(i);
  }

  /**
   * RFC 6675 IsLost() for every record: more than (DupThresh-1)*SMSS SACKed bytes, or DupThresh
   * discontiguous SACKed runs, above it. A record whose retransmission is in flight keeps it unless
   * `retransToo` (the retransmission is then presumed lost as well). Returns the records newly marked.
   * @mirrors tcp_input.c:tcp_mark_head_lost
   */
  markLostDupThresh(mss: number, dupThresh: number, retransToo: boolean): number {
    let bytes = 0;
    let runs = 0;
    let inRun = false;
    let marked = 0;
    const limit = (dupThresh - 1) * mss;
    for (let i = this.count - 1; i >= 0; i--) {
      const t = this.tags[i]!;
      if ((t & TAG_SACKED) !== 0) {
        bytes += seqDiff(this.ends[i]!, this.starts[i]!);
        if (!inRun) runs++;
        inRun = true;
        continue;
      }
      inRun = false;
      if (bytes <= limit && runs < dupThresh) continue;
      if ((t & TAG_LOST) === 0 || (retransToo && (t & TAG_RETRANS) !== 0)) {
        if ((t & TAG_LOST) === 0) marked++;
        if (retransToo) this.markLost(i);
        else this.tags[i] = t | TAG_LOST;
      }
    }
    return marked;
  }

  /**
   * RFC 6675 SetPipe() over records, which is Linux's tcp_packets_in_flight() in bytes: a record
   * neither SACKed nor lost counts once, a retransmission in flight once more.
   * @mirrors net/tcp.h:tcp_packets_in_flight
   */
  pipe(): number {
    let p = 0;
    for (let i = 0; i < this.count; i++) {
      const t = this.tags[i]!;
      if ((t & TAG_SACKED) !== 0) continue;
      const len = seqDiff(this.ends[i]!, this.starts[i]!);
      if ((t & TAG_LOST) === 0) p += len;
      if ((t & TAG_RETRANS) !== 0) p += len;
    }
    return p;
  }

  private pick(i: number, mss: number, limit: number): true {
    this.nextSeq = this.starts[i]!;
    this.nextLen = Math.min(mss, seqDiff(seqMin(this.ends[i]!, limit), this.nextSeq));
    return true;
  }

  /** NextSeg() rule (1): the first lost record not sent again; sets nextSeq/nextLen (≤ mss). */
  nextLost(mss: number): boolean {
    for (let i = 0; i < this.count; i++)
      if ((this.tags[i]! & (TAG_SACKED | TAG_LOST | TAG_RETRANS)) === TAG_LOST)
        return this.pick(i, mss, this.ends[i]!);
    return false;
  }

  /** NextSeg() rule (3): the first record below `highSacked` neither SACKed, lost nor sent again. */
  nextUnsacked(highSacked: number, mss: number): boolean {
    for (let i = 0; i < this.count && seqLt(this.starts[i]!, highSacked); i++)
      if ((this.tags[i]! & (TAG_SACKED | TAG_LOST | TAG_RETRANS)) === 0) return this.pick(i, mss, highSacked);
    return false;
  }

  /**
   * NextSeg() rule (4): up to `mss` bytes ending at the highest unSACKed byte; none when a
   * retransmission of that segment is already in flight (the rescue would only duplicate it).
   */
  lastUnsacked(mss: number): boolean {
    for (let i = this.count - 1; i >= 0; i--) {
      if ((this.tags[i]! & TAG_SACKED) !== 0) continue;
      if ((this.tags[i]! & TAG_RETRANS) !== 0) return false;
      const e = this.ends[i]!;
      this.nextSeq = seqMax(this.starts[i]!, seqAdd(e, -mss));
      this.nextLen = seqDiff(e, this.nextSeq);
      return true;
    }
    return false;
  }

  /**
   * A go-back resend from `seq` after an RTO: bytes up to the first record the peer holds or that
   * was already sent again since (-1 when `seq` is such a record: skip to `end` of it, in nextSeq).
   */
  resendRun(seq: number): number {
    const i = this.find(seq);
    if (i < 0) return Infinity;
    if ((this.tags[i]! & (TAG_SACKED | TAG_RETRANS)) !== 0) {
      this.nextSeq = this.ends[i]!;
      return -1;
    }
    let j = i + 1;
    while (j < this.count && (this.tags[j]! & (TAG_SACKED | TAG_RETRANS)) === 0) j++;
    return j < this.count ? seqDiff(this.starts[j]!, seq) : Infinity;
  }
}
