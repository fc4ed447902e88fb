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
  seqEq,
  seqOf,
  seqU32,
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
        // On a tie either argument is the answer, and a and b differ in form: compared unsigned.
        expect(seqU32(seqMax(a, b))).toBe(seqU32(d >= 0 ? b : a));
        // The stack's form: a signed int32 (a small integer to V8), the same 32 bits as the sum.
        expect(b).toBe(b | 0);
        expect(seqU32(b)).toBe((a + d + 2 ** 32) % 2 ** 32);
      }),
    );
  });

  it('takes either form of a number, and gives each back', () => {
    fc.assert(
      fc.property(u32, dist, (a, d) => {
        const s = seqOf(a);
        expect(s).toBeGreaterThanOrEqual(-(2 ** 31));
        expect(s).toBeLessThan(2 ** 31);
        expect(seqU32(s)).toBe(a);
        expect(seqEq(s, a)).toBe(true);
        expect(seqEq(a, s)).toBe(true);
        expect(seqEq(seqAdd(a, d), a)).toBe(d === 0);
        // Every comparison reads both forms alike.
        const b = seqAdd(a, d);
        expect(seqLt(a, seqU32(b))).toBe(seqLt(s, b));
        expect(seqDiff(seqU32(b), s)).toBe(d);
        expect(seqInRange(seqU32(b), b, seqAdd(b, 1))).toBe(true);
      }),
    );
    expect(seqOf(0x80000000)).toBe(-(2 ** 31));
    expect(seqU32(-1)).toBe(0xffffffff);
    // Plain equality does not: the reason seqEq exists.
    expect(seqOf(0xfffffff0) === 0xfffffff0).toBe(false);
  });
});
