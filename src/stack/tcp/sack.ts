// RFC 2018 SACK scoreboard: what the peer holds above SND.UNA, as ranges, with the validation of
// incoming blocks (the first half of the kernel's tcp_sacktag_write_queue()). The per-segment
// verdicts of RFC 6675 (IsLost, Pipe, NextSeg) are taken over the records of rtx-queue.ts.
import { SeqRangeSet } from './range-set.ts';
import { seqDiff, seqGt, seqLeq, seqLt, seqMax } from './seq.ts';

/** RFC 6675 DupThresh. */
export const DUP_THRESH = 3;

export class SackScoreboard {
  readonly ranges: SeqRangeSet;
  /** Blocks ignored because they lay outside (SND.UNA, SND.MAX] or were inverted (RFC 2018 §8). */
  invalidBlocks = 0;
  /** Blocks lost because the scoreboard was full (the data stays "not SACKed": safe, maybe wasteful). */
  overflowBlocks = 0;

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
}
