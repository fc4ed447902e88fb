import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  seqAdd,
  seqDiff,
  seqGeq,
  seqGt,
  seqInRange,
  seqLeq,
  seqLt,
  seqMax,
  seqMin,
} from '../../src/stack/index.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const dist = fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 });

describe('sequence arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqDiff(0x5, 0xfffffffb)).toBe(10);
    expect(seqMax(0xfffffff0, 3)).toBe(3);
    expect(seqMin(0xfffffff0, 3)).toBe(0xfffffff0);
    expect(seqInRange(2, 0xfffffffe, 5)).toBe(true);
    expect(seqInRange(5, 0xfffffffe, 5)).toBe(false);
  });

  it('agrees with integer order for any base and distance < 2^31', () => {
    fc.assert(
      fc.property(u32, dist, (a, d) => {
        const b = seqAdd(a, d);
        expect(seqDiff(b, a)).toBe(d);
        expect(seqLt(a, b)).toBe(d > 0);
        expect(seqLeq(a, b)).toBe(d >= 0);
        expect(seqGt(a, b)).toBe(d < 0);
        expect(seqGeq(a, b)).toBe(d <= 0);
        expect(seqMax(a, b)).toBe(d >= 0 ? b : a);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(2 ** 32);
      }),
    );
  });
});
