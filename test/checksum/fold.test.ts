import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csumAdd, csumFinish, csumFold, csumSub, swab16 } from '../../src/checksum/index.ts';

/** Reference fold through BigInt: 0 stays 0, any other value maps into 1..0xFFFF by mod 0xFFFF. */
function foldRef(x: bigint): number {
  if (x === 0n) return 0;
  const r = Number(x % 0xffffn);
  return r === 0 ? 0xffff : r;
}

describe('fold helpers', () => {
  it('csumFold equals end-around-carry folding for every accumulator below 2^53', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (x) => {
        expect(csumFold(x)).toBe(foldRef(BigInt(x)));
      }),
    );
    for (const x of [
      0,
      1,
      0xffff,
      0x10000,
      0x1fffe,
      0xffffffff,
      0x100000000,
      2 ** 53 - 1,
      0xffff * 0x10001 * 7,
    ]) {
      expect(csumFold(x)).toBe(foldRef(BigInt(x)));
    }
  });

  it('csumAdd / csumSub / csumFinish / swab16', () => {
    expect(csumAdd(0xffff, 0x0001)).toBe(0x0001);
    expect(csumAdd(0xffff, 0xffff)).toBe(0xffff);
    expect(csumAdd(0, 0)).toBe(0);
    expect(csumSub(0x1234, 0x1234)).toBe(0xffff);
    expect(csumFinish(0xffff)).toBe(0);
    expect(csumFinish(0)).toBe(0xffff);
    expect(swab16(0x12ab)).toBe(0xab12);
    fc.assert(
      fc.property(fc.nat(0xffff), fc.nat(0xffff), (a, b) => {
        expect(csumAdd(a, b)).toBe(foldRef(BigInt(a + b)));
        // Subtracting what was added gives back a (as -0 when a is 0 and b is not).
        const back = csumSub(csumAdd(a, b), b);
        expect(back === a || (a === 0 && back === 0xffff) || (a === 0xffff && back === 0)).toBe(true);
      }),
    );
  });
});
