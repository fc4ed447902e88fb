import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RtxQueue,
  SackScoreboard,
  SeqRangeSet,
  TAG_LOST,
  TAG_SACKED,
  seqAdd,
  seqDiff,
  seqLt,
} from '../../src/stack/index.ts';

/** Checks the set is sorted, disjoint and non-adjacent, and returns its ranges relative to `base`. */
function rel(r: SeqRangeSet, base: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < r.count; i++) {
    out.push([seqDiff(r.start(i), base), seqDiff(r.end(i), base)]);
    expect(seqLt(r.start(i), r.end(i))).toBe(true);
    if (i > 0) expect(seqLt(r.end(i - 1), r.start(i))).toBe(true);
  }
  return out;
}

/** Reference: ranges of set bits in a bitmap. */
function bitmapRanges(bits: boolean[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < bits.length; i++) {
    if (bits[i] && (i === 0 || !bits[i - 1])) {
      let j = i;
      while (j < bits.length && bits[j]) j++;
      out.push([i, j]);
    }
  }
  return out;
}

const base = fc.integer({ min: 0, max: 0xffffffff });
const block = fc.tuple(fc.integer({ min: 0, max: 199 }), fc.integer({ min: 1, max: 40 }));

describe('SeqRangeSet', () => {
  it('matches a bitmap model for random adds, across the wrap', () => {
    fc.assert(
      fc.property(base, fc.array(block, { maxLength: 40 }), (b, blocks) => {
        const r = new SeqRangeSet(256);
        const bits: boolean[] = new Array(240).fill(false);
        for (const [s, l] of blocks) {
          let fresh = 0;
          for (let i = s; i < s + l; i++) if (!bits[i]) fresh++;
          expect(r.add(seqAdd(b, s), seqAdd(b, s + l))).toBe(fresh);
          for (let i = s; i < s + l; i++) bits[i] = true;
        }
        expect(rel(r, b)).toEqual(bitmapRanges(bits));
        expect(r.bytes).toBe(bits.filter(Boolean).length);
      }),
    );
  });

  it('is bounded: a new range beyond capacity is refused, merges still work', () => {
    const r = new SeqRangeSet(2);
    expect(r.add(10, 20)).toBe(10);
    expect(r.add(30, 40)).toBe(10);
    expect(r.add(50, 60)).toBe(-1);
    expect(r.count).toBe(2);
    expect(r.add(20, 30)).toBe(10);
    expect(r.count).toBe(1);
    expect(r.add(15, 25)).toBe(0);
  });

  it('removeBelow trims and takeFrom pops a contiguous head', () => {
    const r = new SeqRangeSet(8);
    r.add(10, 20);
    r.add(30, 40);
    r.removeBelow(15);
    expect(rel(r, 0)).toEqual([
      [15, 20],
      [30, 40],
    ]);
    r.removeBelow(30);
    expect(rel(r, 0)).toEqual([[30, 40]]);
    expect(r.takeFrom(25)).toBe(25);
    expect(r.takeFrom(30)).toBe(40);
    expect(r.count).toBe(0);
  });
});

describe('RFC 6675 over the per-segment queue', () => {
  const MSS = 10;

  /** Reference IsLost on a per-byte model: SACKed bytes strictly above seq and blocks above. */
  function refLost(bits: boolean[], seq: number): boolean {
    let bytes = 0;
    let blocks = 0;
    for (let i = seq + 1; i < bits.length; i++) {
      if (bits[i]) {
        bytes++;
        if (!bits[i - 1] || i === seq + 1) blocks++;
      }
    }
    return blocks >= 3 || bytes > 2 * MSS;
  }

  it('scoreboard ranges, queue tags, IsLost, pipe and NextSeg agree with a per-byte model', () => {
    fc.assert(
      fc.property(
        base,
        fc.array(block, { maxLength: 12 }),
        fc.integer({ min: 0, max: 240 }),
        fc.integer({ min: 0, max: 100 }),
        (una, blocks, maxOff, rxtOff) => {
          const sndMax = seqAdd(una, maxOff);
          const rxt = Math.min(rxtOff, maxOff);
          const sb = new SackScoreboard(64);
          const q = new RtxQueue(256);
          q.reset(una);
          for (let o = 0; o < maxOff; o += MSS) q.sent(seqAdd(una, o), Math.min(MSS, maxOff - o), o);
          q.retransmitted(una, rxt, 1000);
          const bits: boolean[] = new Array(maxOff).fill(false);
          for (const [s, l] of blocks) {
            const added = sb.addBlock(seqAdd(una, s), seqAdd(una, s + l), una, sndMax);
            if (added > 0) q.sack(seqAdd(una, s), seqAdd(una, s + l), null);
            if (s + l <= maxOff) {
              let fresh = 0;
              for (let i = s; i < s + l; i++) if (!bits[i]) fresh++;
              expect(added).toBe(fresh);
              for (let i = s; i < s + l; i++) bits[i] = true;
            } else {
              expect(added).toBe(0);
            }
          }
          expect(rel(sb.ranges, una)).toEqual(bitmapRanges(bits));
          // The records tile [una, sndMax) and carry the SACKed verdict of each byte.
          let at = 0;
          for (let i = 0; i < q.count; i++) {
            expect(seqDiff(q.start(i), una)).toBe(at);
            at = seqDiff(q.end(i), una);
            for (let b = seqDiff(q.start(i), una); b < at; b++)
              expect((q.tag(i) & TAG_SACKED) !== 0).toBe(bits[b]);
          }
          expect(at).toBe(maxOff);
          q.markLostDupThresh(MSS, 3, false);
          for (let i = 0; i < maxOff; i++) {
            const r = q.find(seqAdd(una, i));
            if (!bits[i]) expect((q.tag(r) & TAG_LOST) !== 0).toBe(refLost(bits, i));
          }
          // Pipe per RFC 6675 SetPipe, octet by octet (HighRxt = una + rxt).
          let pipe = 0;
          for (let i = 0; i < maxOff; i++) {
            if (bits[i]) continue;
            if (!refLost(bits, i)) pipe++;
            if (i < rxt) pipe++;
          }
          expect(q.pipe()).toBe(pipe);
          // NextSeg rule (1): the first unSACKed lost byte at/above HighRxt.
          let want = -1;
          for (let i = rxt; i < maxOff; i++) {
            if (!bits[i] && refLost(bits, i)) {
              want = i;
              break;
            }
          }
          const got = q.nextLost(MSS);
          expect(got).toBe(want >= 0);
          if (got) {
            expect(seqDiff(q.nextSeq, una)).toBe(want);
            expect(q.nextLen).toBeGreaterThan(0);
            expect(q.nextLen).toBeLessThanOrEqual(MSS);
            for (let i = 0; i < q.nextLen; i++) expect(bits[want + i]).toBe(false);
          }
        },
      ),
    );
  });

  it('rejects blocks beyond SND.MAX, inverted blocks and treats blocks below SND.UNA as D-SACK', () => {
    const sb = new SackScoreboard();
    expect(sb.addBlock(150, 250, 100, 200)).toBe(0);
    expect(sb.addBlock(180, 170, 100, 200)).toBe(0);
    expect(sb.invalidBlocks).toBe(2);
    expect(sb.addBlock(50, 90, 100, 200)).toBe(0);
    expect(sb.invalidBlocks).toBe(2);
    expect(sb.addBlock(120, 130, 100, 200)).toBe(10);
    sb.onAck(125);
    expect(sb.ranges.bytes).toBe(5);
    expect(sb.highestSacked(125)).toBe(130);
  });

  it('one hole under three SACKed segments is lost and is NextSeg; its retransmission counts in pipe', () => {
    const q = new RtxQueue(16);
    q.reset(0);
    for (let s = 0; s < 500; s += 100) q.sent(s, 100, s);
    // Segments of 100: [0,100) lost, [100,400) SACKed in three ACKs.
    for (let s = 100; s < 400; s += 100) q.sack(s, s + 100, null);
    expect(q.markLostDupThresh(100, 3, false)).toBe(1);
    expect(q.pipe()).toBe(100); // the unSACKed tail [400,500)
    expect(q.nextLost(100)).toBe(true);
    expect([q.nextSeq, q.nextLen]).toEqual([0, 100]);
    q.retransmitted(0, 100, 600);
    expect(q.pipe()).toBe(200); // plus the retransmission
    expect(q.nextLost(100)).toBe(false);
    // Rule (3) finds nothing below the highest SACK; rule (4) names the tail.
    expect(q.nextUnsacked(400, 100)).toBe(false);
    expect(q.lastUnsacked(100)).toBe(true);
    expect([q.nextSeq, q.nextLen]).toEqual([400, 100]);
    // An RTO: the retransmission is presumed lost with the rest.
    q.markAllLost();
    expect(q.pipe()).toBe(0);
    q.ack(100, null);
    expect(q.start(0)).toBe(100);
    expect(q.count).toBe(4);
  });

  it('a full queue coarsens records instead of refusing data', () => {
    const q = new RtxQueue(4);
    q.reset(0);
    for (let s = 0; s < 1000; s += 100) q.sent(s, 100, s);
    expect(q.count).toBe(4);
    expect(q.end(3)).toBe(1000);
    expect(q.full).toBe(6);
    q.sack(350, 450, null); // inside one coarse record: cannot split, stays unSACKed
    expect(q.pipe()).toBe(1000);
  });
});
