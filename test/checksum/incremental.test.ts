// RFC 1624 eqn. 3 updates equal recomputing the checksum, and match Linux csum_replace2/4 on the
// corner values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumError,
  csumFinish,
  csumPartial,
  csumReplace16,
  csumReplace32,
} from '../../src/checksum/index.ts';

/** Checksum field over `data` with the field (at 10) zeroed, as a sender computes it. */
function recompute(data: Uint8Array): number {
  data[10] = 0;
  data[11] = 0;
  return csumFinish(csumPartial(data, 0, data.length));
}

// An IPv4-like header: byte 0 stays 0x45, so the data is never all zero (where recomputation says
// 0xFFFF and eqn. 3 says 0x0000, both one's-complement zero).
const header = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((h) => {
  h[0] = 0x45;
  return h;
});

describe('csumReplace16', () => {
  it('equals recomputation after a 16-bit word changes', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 9 }), fc.nat(0xffff), (h, wi, nw) => {
        fc.pre(wi !== 5); // word 5 is the field itself
        const check = recompute(h);
        const at = wi * 2;
        const old = (h[at]! << 8) | h[at + 1]!;
        h[at] = nw >>> 8;
        h[at + 1] = nw & 0xff;
        expect(csumReplace16(check, old, nw)).toBe(recompute(h));
      }),
    );
  });

  it('handles the 0x0000/0xFFFF faces like Linux csum_replace2', () => {
    // RFC 1624 §4's example: eqn. 3 gives 0x0000 where eqn. 2 would give 0xFFFF.
    expect(csumReplace16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
    // The only way to produce 0xFFFF: ~check, ~old and new all zero.
    expect(csumReplace16(0xffff, 0xffff, 0x0000)).toBe(0xffff);
    expect(csumReplace16(0x1234, 0xabcd, 0xabcd)).toBe(0x1234);
    // A field of 0x0000 (sum -0) stays valid: changing nothing keeps it.
    expect(csumReplace16(0x0000, 0x0001, 0x0001)).toBe(0x0000);
  });

  it('rejects non-16-bit arguments', () => {
    expect(() => csumReplace16(0x10000, 0, 0)).toThrow(ChecksumError);
    expect(() => csumReplace16(0, -1, 0)).toThrow(ChecksumError);
    expect(() => csumReplace16(0, 0, 1.5)).toThrow(ChecksumError);
  });
});

describe('csumReplace32', () => {
  it('equals recomputation after a 32-bit word (an address) changes, at either parity', () => {
    fc.assert(
      fc.property(header, fc.constantFrom(12, 16), fc.nat(0xffffffff), (h, at, nw) => {
        const check = recompute(h);
        const old = ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0;
        h[at] = nw >>> 24;
        h[at + 1] = (nw >>> 16) & 0xff;
        h[at + 2] = (nw >>> 8) & 0xff;
        h[at + 3] = nw & 0xff;
        expect(csumReplace32(check, old, nw)).toBe(recompute(h));
      }),
    );
  });

  it('equals two 16-bit replacements modulo the zero face, and never returns 0xFFFF', () => {
    fc.assert(
      fc.property(fc.nat(0xffff), fc.nat(0xffffffff), fc.nat(0xffffffff), (c, o, n) => {
        const r = csumReplace32(c, o, n);
        const two = csumReplace16(csumReplace16(c, o >>> 16, n >>> 16), o & 0xffff, n & 0xffff);
        expect(r === two || (r === 0 && two === 0xffff) || (r === 0xffff && two === 0)).toBe(true);
        expect(r).not.toBe(0xffff);
      }),
    );
  });

  it('rejects non-32-bit words', () => {
    expect(() => csumReplace32(0, 2 ** 32, 0)).toThrow(ChecksumError);
    expect(() => csumReplace32(0x10000, 0, 0)).toThrow(ChecksumError);
  });
});
