import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SackScoreboard, SeqRangeSet, seqAdd, seqDiff, seqLt } from '../../src/stack/index.ts';

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

describe('RFC 6675 scoreboard', () => {
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

  it('invariants and RFC 6675 pipe/IsLost under random SACK blocks', () => {
    fc.assert(
      fc.property(
        base,
        fc.array(block, { maxLength: 12 }),
        fc.integer({ min: 0, max: 240 }),
        fc.integer({ min: 0, max: 100 }),
        (una, blocks, maxOff, rxtOff) => {
          const sndMax = seqAdd(una, maxOff);
          const highRxt = seqAdd(una, Math.min(rxtOff, maxOff));
          const sb = new SackScoreboard(64);
          const bits: boolean[] = new Array(maxOff).fill(false);
          for (const [s, l] of blocks) {
            const added = sb.addBlock(seqAdd(una, s), seqAdd(una, s + l), una, sndMax);
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
          // Pipe per RFC 6675 SetPipe, octet by octet.
          let pipe = 0;
          for (let i = 0; i < maxOff; i++) {
            if (bits[i]) continue;
            if (!refLost(bits, i)) pipe++;
            if (i < Math.min(rxtOff, maxOff)) pipe++;
          }
          expect(sb.pipe(una, sndMax, highRxt, MSS)).toBe(pipe);
          expect(pipe).toBeLessThanOrEqual(2 * maxOff);
          for (let i = 0; i < maxOff; i++) {
            if (!bits[i]) expect(sb.isLost(seqAdd(una, i), MSS)).toBe(refLost(bits, i));
          }
          // NextSeg rule (1): the first unSACKed lost byte at/above HighRxt below the highest SACK.
          const hi = bits.lastIndexOf(true);
          let want = -1;
          for (let i = Math.min(rxtOff, maxOff); i < hi; i++) {
            if (!bits[i] && refLost(bits, i)) {
              want = i;
              break;
            }
          }
          const got = sb.nextSeg(una, highRxt, MSS, true);
          expect(got).toBe(want >= 0);
          if (got) {
            expect(seqDiff(sb.nextSeq, una)).toBe(want);
            expect(sb.nextLen).toBeGreaterThan(0);
            expect(sb.nextLen).toBeLessThanOrEqual(MSS);
            for (let i = 0; i < sb.nextLen; i++) expect(bits[want + i]).toBe(false);
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

  it('one hole under three SACKed segments is lost and is NextSeg', () => {
    const sb = new SackScoreboard();
    // Segments of 100: [0,100) lost, [100,400) SACKed in three ACKs.
    for (let s = 100; s < 400; s += 100) sb.addBlock(s, s + 100, 0, 500);
    expect(sb.isLost(0, 100)).toBe(true);
    expect(sb.pipe(0, 500, 0, 100)).toBe(100); // the unSACKed tail [400,500)
    expect(sb.nextSeg(0, 0, 100, true)).toBe(true);
    expect([sb.nextSeq, sb.nextLen]).toEqual([0, 100]);
    expect(sb.pipe(0, 500, 100, 100)).toBe(200); // plus the retransmission
    expect(sb.nextSeg(0, 100, 100, true)).toBe(false);
  });
});
