// A Mempool over buffers that mostly belong to someone else (a netmap buffer pool): lending,
// reclaiming, wrapping lent buffers into mbufs and lending an mbuf's chain out. A model holds who
// has each segment (outside, free, or mbuf k); random operations must keep the pool's states, its
// free count and the mbuf chains equal to the model, and refused operations must change nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mempool, MbufError, SEG_FREE, SEG_LENT, SEG_LIVE, type Mbuf } from '../../src/mbuf/index.ts';

const SEGS = 24;

const opArb = fc.oneof(
  fc.record({ op: fc.constant('reclaim' as const), s: fc.integer({ min: -2, max: SEGS + 2 }) }),
  fc.record({ op: fc.constant('lend' as const), after: fc.integer({ min: -3, max: SEGS + 3 }) }),
  fc.record({
    op: fc.constant('wrap' as const),
    s: fc.integer({ min: 0, max: SEGS - 1 }),
    off: fc.integer({ min: 0, max: 64 }),
    len: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    op: fc.constant('chain' as const),
    pick: fc.nat(),
    s: fc.integer({ min: 0, max: SEGS - 1 }),
    len: fc.integer({ min: 0, max: 128 }),
  }),
  fc.record({ op: fc.constant('lendChain' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('free' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('alloc' as const), len: fc.integer({ min: 0, max: 300 }) }),
);

function chainOf(p: Mempool, m: Mbuf): number[] {
  const out: number[] = [];
  for (let s = m.firstSeg; s >= 0; s = p.segNext[s]!) out.push(s);
  return out;
}

describe('Mempool: lent segments', () => {
  it('starts with every segment lent and nothing free when lent is set', () => {
    const p = new Mempool({ segments: 8, segmentSize: 128, lent: true });
    expect(p.segmentsFree).toBe(0);
    expect(p.segmentsLent).toBe(8);
    expect(p.alloc()).toBeNull();
    expect(p.lendSeg()).toBe(-1);
    expect(p.reclaimSeg(3)).toBe(true);
    expect(p.reclaimSeg(3)).toBe(false);
    expect(p.segState[3]).toBe(SEG_FREE);
    const m = p.alloc()!;
    expect(m.firstSeg).toBe(3);
    expect(p.segState[3]).toBe(SEG_LIVE);
    p.lendChain(m);
    expect(p.segState[3]).toBe(SEG_LENT);
    expect(() => p.lendChain(m)).toThrow(MbufError);
  });

  it('property: states, free count and chains follow the model; refusals change nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const p = new Mempool({ segments: SEGS, segmentSize: 128, headroom: 16, mbufs: 6, lent: true });
        // The model: 'out', 'free', or the live mbuf holding it.
        const who: (string | Mbuf)[] = Array.from({ length: SEGS }, () => 'out');
        const live: Mbuf[] = [];
        const check = (): void => {
          let free = 0;
          for (let s = 0; s < SEGS; s++) {
            const w = who[s]!;
            const want = w === 'out' ? SEG_LENT : w === 'free' ? SEG_FREE : SEG_LIVE;
            expect(p.segState[s]).toBe(want);
            if (w === 'free') free++;
          }
          expect(p.segmentsFree).toBe(free);
          expect(p.segmentsLent).toBe(who.filter((w) => w === 'out').length);
          for (const m of live) {
            const c = chainOf(p, m);
            expect(c.length).toBe(m.segCount);
            expect(c.at(-1)).toBe(m.lastSeg);
            for (const s of c) expect(who[s]).toBe(m);
            expect(c.reduce((a, s) => a + p.segLen[s]!, 0)).toBe(m.length);
          }
          expect(live.reduce((a, m) => a + m.segCount, 0)).toBe(
            who.filter((w) => typeof w !== 'string').length,
          );
        };
        for (const o of ops) {
          switch (o.op) {
            case 'reclaim': {
              const ok = p.reclaimSeg(o.s);
              expect(ok).toBe(o.s >= 0 && o.s < SEGS && who[o.s] === 'out');
              if (ok) who[o.s] = 'free';
              break;
            }
            case 'lend': {
              // The hint is taken when the segment after it is free, and is harmless otherwise.
              const s = p.lendSeg(o.after);
              if (s < 0) expect(who.includes('free')).toBe(false);
              else {
                expect(who[s]).toBe('free');
                if (who[o.after + 1] === 'free') expect(s).toBe(o.after + 1);
                who[s] = 'out';
              }
              break;
            }
            case 'wrap': {
              const m = p.wrapLent(o.s, o.off, o.len);
              if (who[o.s] !== 'out' || live.length === 6) expect(m).toBeNull();
              else {
                expect(m).not.toBeNull();
                expect(m!.length).toBe(o.len);
                expect(m!.dataOffset).toBe(o.s * 128 + o.off);
                who[o.s] = m!;
                live.push(m!);
              }
              break;
            }
            case 'chain': {
              if (live.length === 0) break;
              const m = live[o.pick % live.length]!;
              const ok = p.chainLent(m, o.s, o.len);
              expect(ok).toBe(who[o.s] === 'out');
              if (ok) who[o.s] = m;
              break;
            }
            case 'lendChain':
            case 'free': {
              if (live.length === 0) break;
              const [m] = live.splice(o.pick % live.length, 1);
              const segs = chainOf(p, m!);
              if (o.op === 'free') m!.free();
              else p.lendChain(m!);
              for (const s of segs) who[s] = o.op === 'free' ? 'free' : 'out';
              break;
            }
            case 'alloc': {
              const m = p.alloc();
              if (m === null) break;
              if (!m.append(new Uint8Array(o.len))) {
                m.free();
                break;
              }
              for (const s of chainOf(p, m)) {
                expect(who[s]).toBe('free');
                who[s] = m;
              }
              live.push(m);
              break;
            }
          }
          check();
        }
        // The free stack holds every free segment once: lending them all gives exactly those.
        const drained: number[] = [];
        for (let s = p.lendSeg(); s >= 0; s = p.lendSeg()) drained.push(s);
        const free = who.flatMap((w, s) => (w === 'free' ? [s] : []));
        expect(drained.sort((x, y) => x - y)).toEqual(free);
      }),
      { numRuns: 300 },
    );
  });
});
