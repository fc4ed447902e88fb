// The pool keeps a chain in consecutive buffers when it can (Mempool.takeFree): a copy of a
// frame's bytes is then one memcpy (Mbuf.copyTo joins runs), not one call per 2 KiB segment.
import { describe, expect, it } from 'vitest';
import { Mempool, type Mbuf } from '../../src/mbuf/index.ts';

const SIZE = 2048;

function chainOf(p: Mempool, m: Mbuf): number[] {
  const out: number[] = [];
  for (let s = m.firstSeg; s >= 0; s = p.segNext[s]!) out.push(s);
  return out;
}

/** Number of runs of consecutive segments in a chain. */
function runs(chain: number[]): number {
  let n = chain.length === 0 ? 0 : 1;
  for (let i = 1; i < chain.length; i++) if (chain[i] !== chain[i - 1]! + 1) n++;
  return n;
}

function frame(p: Mempool, bytes: number, fill: number): Mbuf {
  const m = p.alloc()!;
  expect(m.append(new Uint8Array(bytes).fill(fill))).toBe(true);
  return m;
}

describe('Mempool: chains in consecutive buffers', () => {
  it('a 64 KiB packet in a fresh pool is one run, and its copy is byte-exact', () => {
    const p = new Mempool({ segments: 64, segmentSize: SIZE, headroom: 128 });
    const m = frame(p, 65536, 7);
    expect(runs(chainOf(p, m))).toBe(1);
    const out = Buffer.alloc(65536);
    m.copyTo(out);
    expect(out.every((b) => b === 7)).toBe(true);
  });

  it('after frees in scrambled order a chain still starts at the bottom of a free run', () => {
    const p = new Mempool({ segments: 160, segmentSize: SIZE, headroom: 128 });
    const ms = [0, 1, 2, 3, 4].map((k) => frame(p, 32 * SIZE - 128, k));
    for (const m of ms) expect(runs(chainOf(p, m))).toBe(1);
    // Free frames 3, 1, then 4: the stack's top is the last segment of frame 4.
    const freedFirst = [3, 1, 4].map((k) => chainOf(p, ms[k]!)[0]!);
    for (const k of [3, 1, 4]) ms[k]!.free();
    const a = frame(p, 32 * SIZE - 128, 9);
    const b = frame(p, 32 * SIZE - 128, 10);
    const c = frame(p, 32 * SIZE - 128, 11);
    // Each new frame fills one freed run from its start (without the look down the stack's top,
    // a run's last segment, would start it and the next segments would be scattered).
    for (const m of [a, b, c]) expect(runs(chainOf(p, m))).toBe(1);
    expect(new Set([a, b, c].map((m) => chainOf(p, m)[0]))).toEqual(new Set(freedFirst));
  });

  it('a chain is cut only where the next buffer is taken, and the bytes stay right', () => {
    const p = new Mempool({ segments: 40, segmentSize: SIZE, headroom: 0 });
    // Hold segment 5 in an mbuf of its own: a chain from 0 must jump over it.
    const hold: Mbuf[] = [];
    for (let k = 0; k < 6; k++) hold.push(p.alloc()!);
    for (const m of hold.slice(0, 5)) m.free();
    const m = p.alloc()!;
    const src = Uint8Array.from({ length: 8 * SIZE }, (_, i) => (i * 31) & 0xff);
    expect(m.append(src)).toBe(true);
    const chain = chainOf(p, m);
    expect(chain).not.toContain(hold[5]!.firstSeg);
    expect(runs(chain)).toBe(2);
    const out = Buffer.alloc(src.length);
    m.copyTo(out);
    expect(out.equals(Buffer.from(src))).toBe(true);
  });

  it('lendSeg(after) gives the buffer after `after` when it is free, the top of the stack otherwise', () => {
    const p = new Mempool({ segments: 16, segmentSize: 128, lent: true });
    for (const s of [3, 4, 9, 10, 11]) expect(p.reclaimSeg(s)).toBe(true);
    expect(p.lendSeg(9)).toBe(10);
    expect(p.lendSeg(10)).toBe(11);
    // 12 is lent: the top of the stack, 9 (8 is lent, so 9 is the bottom of its run).
    expect(p.lendSeg(11)).toBe(9);
    // No hint: the top is 4, whose free run starts at 3.
    expect(p.lendSeg()).toBe(3);
    expect(p.reclaimSeg(3)).toBe(true);
    // Hints outside the pool, or at a non-integer, are ignored.
    for (const h of [-1, 15, 1e9, 2.5, Number.NaN]) {
      const s = p.lendSeg(h);
      if (s >= 0) expect([3, 4]).toContain(s);
      if (s >= 0) expect(p.reclaimSeg(s)).toBe(true);
    }
    expect(p.segmentsFree).toBe(2);
  });
});
