// RFC 2018 SACK scoreboard with the RFC 6675 loss-recovery queries (IsLost, Pipe, NextSeg), the
// job of the kernel's tcp_sacktag_write_queue()/tcp_mark_head_lost()/tcp_packets_in_flight().
// HighRxt is passed as an exclusive bound: bytes below it have been retransmitted.
import { SeqRangeSet } from './range-set.ts';
import { seqDiff, seqGt, seqLeq, seqLt, seqMax, seqMin } from './seq.ts';

/** RFC 6675 DupThresh. */
export const DUP_THRESH = 3;

export class SackScoreboard {
  readonly ranges: SeqRangeSet;
  /** Blocks ignored because they lay outside (SND.UNA, SND.MAX] or were inverted (RFC 2018 §8). */
  invalidBlocks = 0;
  /** Blocks lost because the scoreboard was full (the data stays "not SACKed": safe, maybe wasteful). */
  overflowBlocks = 0;
  /** Output of nextSeg(). */
  nextSeq = 0;
  nextLen = 0;

  constructor(
    capacity = 64,
    readonly dupThresh = DUP_THRESH,
  ) {
    this.ranges = new SeqRangeSet(capacity);
  }

  /** Cumulative ACK advanced to `sndUna`: forget what it covers. */
  onAck(sndUna: number): void {
    this.ranges.removeBelow(sndUna);
  }

  /**
   * Records one SACK block. Returns the bytes newly SACKed (0 for a D-SACK or a repeat), the
   * signal RFC 6675 §2 uses to count a "duplicate acknowledgment".
   * @mirrors tcp_input.c:tcp_sacktag_write_queue
   */
  addBlock(start: number, end: number, sndUna: number, sndMax: number): number {
    if (!seqLt(start, end) || seqGt(end, sndMax) || seqDiff(end, start) > seqDiff(sndMax, sndUna)) {
      this.invalidBlocks++;
      return 0;
    }
    // A block at or below SND.UNA is a D-SACK (RFC 2883): it reports a duplicate, not new data.
    if (seqLeq(end, sndUna)) return 0;
    const added = this.ranges.add(seqMax(start, sndUna), end);
    if (added < 0) {
      this.overflowBlocks++;
      return 0;
    }
    return added;
  }

  /** Highest SACKed sequence + 1, or `sndUna` when nothing is SACKed. */
  highestSacked(sndUna: number): number {
    const n = this.ranges.count;
    return n === 0 ? sndUna : this.ranges.end(n - 1);
  }

  isSacked(seq: number): boolean {
    return this.ranges.find(seq) >= 0;
  }

  /**
   * RFC 6675 IsLost(seq): DupThresh discontiguous SACKed blocks above seq, or more than
   * (DupThresh-1)*SMSS SACKed bytes above it. (Blocks stand in for "discontiguous sequences":
   * ranges are merged, so this never overcounts.)
   */
  isLost(seq: number, mss: number): boolean {
    const r = this.ranges;
    let blocks = 0;
    let bytes = 0;
    const above = (seq + 1) >>> 0;
    for (let i = r.count - 1; i >= 0; i--) {
      const e = r.end(i);
      if (seqLeq(e, above)) break;
      blocks++;
      bytes += seqDiff(e, seqMax(r.start(i), above));
    }
    return blocks >= this.dupThresh || bytes > (this.dupThresh - 1) * mss;
  }

  /**
   * RFC 6675 SetPipe(): bytes in flight in [sndUna, sndMax). A hole counts once unless lost, and
   * once more for the part already retransmitted (below highRxt). Holes have a single lost/not-lost
   * verdict because the SACKed bytes above every byte of a hole are the same.
   */
  pipe(sndUna: number, sndMax: number, highRxt: number, mss: number): number {
    const r = this.ranges;
    const thresh = (this.dupThresh - 1) * mss;
    // Last hole: above every SACK block, never lost.
    let holeEnd = sndMax;
    let holeStart = r.count === 0 ? sndUna : r.end(r.count - 1);
    let pipe = this.holePipe(holeStart, holeEnd, false, highRxt);
    let blocksAbove = 0;
    let bytesAbove = 0;
    for (let i = r.count - 1; i >= 0; i--) {
      blocksAbove++;
      bytesAbove += seqDiff(r.end(i), r.start(i));
      holeEnd = r.start(i);
      holeStart = i === 0 ? sndUna : r.end(i - 1);
      const lost = blocksAbove >= this.dupThresh || bytesAbove > thresh;
      pipe += this.holePipe(holeStart, holeEnd, lost, highRxt);
    }
    return pipe;
  }

  private holePipe(a: number, b: number, lost: boolean, highRxt: number): number {
    if (!seqLt(a, b)) return 0;
    let p = lost ? 0 : seqDiff(b, a);
    if (seqGt(highRxt, a)) p += seqDiff(seqMin(b, highRxt), a);
    return p;
  }

  /**
   * RFC 6675 NextSeg() rules (1) and, with `requireLost` false, (3): the first unSACKed range at
   * or above highRxt and below the highest SACKed byte (lost, for rule 1). On success sets
   * nextSeq/nextLen (at most `mss`, never into SACKed data) and returns true. Rule (2), new data,
   * and rule (4), the rescue retransmission, belong to the sender.
   */
  nextSeg(sndUna: number, highRxt: number, mss: number, requireLost: boolean): boolean {
    const r = this.ranges;
    const thresh = (this.dupThresh - 1) * mss;
    // Walk holes low to high; the lost verdict needs suffix totals, so compute them first.
    let totalBlocks = r.count;
    let totalBytes = r.bytes;
    for (let i = 0; i < r.count; i++) {
      const holeStart = i === 0 ? sndUna : r.end(i - 1);
      const holeEnd = r.start(i);
      const lost = totalBlocks >= this.dupThresh || totalBytes > thresh;
      if (requireLost && !lost) return false;
      const from = seqMax(holeStart, highRxt);
      if (seqLt(from, holeEnd)) {
        this.nextSeq = from;
        this.nextLen = Math.min(mss, seqDiff(holeEnd, from));
        return true;
      }
      totalBlocks--;
      totalBytes -= seqDiff(r.end(i), r.start(i));
    }
    return false;
  }

  reset(): void {
    this.ranges.clear();
  }
}
