// Pseudo-header partials equal summing a hand-built pseudo-header with csumPartial.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChecksumError, csumPartial, pseudoV4, pseudoV6 } from '../../src/checksum/index.ts';

function be32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

describe('pseudoV4', () => {
  it('equals the RFC 793 12-byte pseudo-header summed', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xff), fc.nat(0xffff), (s, d, p, l) => {
        const ph = new Uint8Array(12);
        be32(ph, 0, s);
        be32(ph, 4, d);
        ph[9] = p;
        ph[10] = l >>> 8;
        ph[11] = l & 0xff;
        expect(pseudoV4(s, d, p, l)).toBe(csumPartial(ph, 0, 12));
      }),
    );
  });

  it('matches the value the kernel stored for a NEEDS_CSUM frame (10.0.0.1 -> 10.0.0.2, TCP, 20)', () => {
    // 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 0x0014
    expect(pseudoV4(0x0a000001, 0x0a000002, 6, 20)).toBe(0x141d);
  });

  it("takes an address as its u32 or as the same bits signed (the stack's In4) alike", () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xff), fc.nat(0xffff), (s, d, p, l) => {
        const want = pseudoV4(s, d, p, l);
        expect(pseudoV4(s | 0, d | 0, p, l)).toBe(want);
        expect(pseudoV4(s | 0, d, p, l)).toBe(want);
      }),
    );
    expect(pseudoV4(-1, -1, 17, 8)).toBe(pseudoV4(0xffffffff, 0xffffffff, 17, 8));
  });

  it('rejects out-of-range arguments', () => {
    for (const bad of [2 ** 32, -(2 ** 31) - 1, 1.5, NaN]) {
      expect(() => pseudoV4(bad, 0, 6, 20)).toThrow(ChecksumError);
      expect(() => pseudoV4(0, bad, 6, 20)).toThrow(ChecksumError);
    }
    expect(() => pseudoV4(0, 0, 256, 20)).toThrow(ChecksumError);
    expect(() => pseudoV4(0, 0, 6, -1)).toThrow(ChecksumError);
  });
});

describe('pseudoV6', () => {
  it('equals the RFC 8200 40-byte pseudo-header summed, addresses at any offsets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 80, maxLength: 80 }),
        fc.nat(64),
        fc.nat(64),
        fc.nat(0xff),
        fc.nat(0xffffffff),
        (buf, so, dso, nh, l) => {
          const ph = new Uint8Array(40);
          ph.set(buf.subarray(so, so + 16), 0);
          ph.set(buf.subarray(dso, dso + 16), 16);
          be32(ph, 32, l);
          ph[39] = nh;
          expect(pseudoV6(buf, so, dso, nh, l)).toBe(csumPartial(ph, 0, 40));
        },
      ),
    );
  });

  it('rejects addresses outside the buffer with CSUM_RANGE', () => {
    const buf = new Uint8Array(40);
    for (const [s, d] of [
      [25, 0],
      [0, 25],
      [-1, 0],
    ] as const) {
      try {
        pseudoV6(buf, s, d, 6, 20);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ChecksumError);
        expect((e as ChecksumError).code).toBe('CSUM_RANGE');
      }
    }
  });
});
