// A bounded set of disjoint, non-adjacent sequence ranges [start, end), sorted ascending in
// sequence space. It backs both the SACK scoreboard (what the peer holds above SND.UNA) and the
// out-of-order reassembly map (what we hold above RCV.NXT). Storage is preallocated typed arrays:
// adding, trimming and querying allocate nothing.
import { seqDiff, seqGeq, seqGt, seqLeq, seqLt, seqMax, seqMin } from './seq.ts';

export class SeqRangeSet {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** Number of ranges held. */
  count = 0;

  constructor(readonly capacity: number) {
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.ends[i]!;
  }

  /** Sum of range lengths. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += seqDiff(this.ends[i]!, this.starts[i]!);
    return n;
  }

  clear(): void {
    this.count = 0;
  }

  /** Index of the range holding `seq`, or -1. */
  find(seq: number): number {
    for (let i = 0; i < this.count; i++) {
      if (seqLt(seq, this.starts[i]!)) return -1;
      if (seqLt(seq, this.ends[i]!)) return i;
    }
    return -1;
  }

  /**
   * Adds [start, end). Returns the number of bytes not covered before, or -1 when the range would
   * need a new slot and the set is full (the set is then unchanged).
   */
  add(start: number, end: number): number {
    if (!seqLt(start, end)) return 0;
    const n = this.count;
    const s = this.starts;
    const e = this.ends;
    // First range that touches or follows `start`, and one past the last range touching `end`.
    let i = 0;
    while (i < n && seqLt(e[i]!, start)) i++;
    let j = i;
    let covered = 0;
    while (j < n && seqLeq(s[j]!, end)) {
      covered += seqDiff(seqMin(e[j]!, end), seqMax(s[j]!, start));
      j++;
    }
    if (i === j) {
      if (n === this.capacity) return -1;
      s.copyWithin(i + 1, i, n);
      e.copyWithin(i + 1, i, n);
      s[i] = start;
      e[i] = end;
      this.count = n + 1;
      return seqDiff(end, start);
    }
    // Ranges i..j-1 touch [start, end): merge them into slot i.
    s[i] = seqMin(s[i]!, start);
    e[i] = seqMax(e[j - 1]!, end);
    const removed = j - i - 1;
    if (removed > 0) {
      s.copyWithin(i + 1, j, n);
      e.copyWithin(i + 1, j, n);
      this.count = n - removed;
    }
    // `covered` is the overlap with the merged ranges (0 for ranges that were only adjacent).
    return seqDiff(end, start) - covered;
  }

  /** Drops everything below `seq`, trimming a range that straddles it. */
  removeBelow(seq: number): void {
    const n = this.count;
    let k = 0;
    while (k < n && seqLeq(this.ends[k]!, seq)) k++;
    if (k > 0) {
      this.starts.copyWithin(0, k, n);
      this.ends.copyWithin(0, k, n);
      this.count = n - k;
    }
    if (this.count > 0 && seqLt(this.starts[0]!, seq)) this.starts[0] = seq;
  }

  /** Removes and returns the end of the first range if it starts at or before `seq`, else returns `seq`. */
  takeFrom(seq: number): number {
    if (this.count === 0 || seqGt(this.starts[0]!, seq)) return seq;
    const end = this.ends[0]!;
    this.starts.copyWithin(0, 1, this.count);
    this.ends.copyWithin(0, 1, this.count);
    this.count--;
    return seqGeq(end, seq) ? end : seq;
  }
}
