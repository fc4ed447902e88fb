// Unit and property tests of the segmenter (the kernel comparison itself is test/oracle/gso.test.ts
// with root, and test/tso/fixtures.test.ts without).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csumPartial } from '../../src/checksum/index.ts';
import {
  SegmentList,
  TsoError,
  checkTapWrite,
  gsoSegment,
  trySegment,
  type GsoHeader,
} from '../../src/tso/index.ts';
import { buildFrame, generate } from '../oracle/lib/gen.ts';

const out = new SegmentList(1024, 2);
const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** The TCP/UDP checksum of a v4 frame verifies (sum over pseudo-header + segment = 0xFFFF). */
function l4Valid(f: Uint8Array, nh: number, th: number, proto: number): boolean {
  const l4 = f.length - th;
  const seed = csumPartial(f, nh + 12, 8) + proto + l4;
  return csumPartial(f, th, l4, (seed & 0xffff) + (seed >>> 16)) === 0xffff;
}

describe('gsoSegment', () => {
  it("reproduces the spec's measured TCPv4 case (ids and seq wrap, FIN/PSH last, CWR first)", () => {
    const b = buildFrame({
      proto: 6,
      payload: 4500,
      id: 0xfffe,
      seq: 0xfffff000,
      flags: 0x19 | 0x80 | 0x40,
      tos: 2,
    });
    const h: GsoHeader = {
      flags: 1,
      gsoType: 0x81,
      hdrLen: 54,
      gsoSize: 1000,
      csumStart: 34,
      csumOffset: 16,
    };
    expect(gsoSegment(h, b.frame, out)).toBe(5);
    const segs = out.toArray();
    expect(segs.map((s) => s.length)).toEqual([1054, 1054, 1054, 1054, 554]);
    expect(segs.map((s) => be16(s, 18))).toEqual([0xfffe, 0xffff, 0, 1, 2]);
    expect(segs.map((s) => be32(s, 38))).toEqual([
      0xfffff000, 0xfffff3e8, 0xfffff7d0, 0xfffffbb8, 0xffffffa0,
    ]);
    expect(segs.map((s) => s[47])).toEqual([0xd0, 0x50, 0x50, 0x50, 0x59]);
    for (const s of segs) {
      expect(csumPartial(s, 14, 20)).toBe(0xffff);
      expect(l4Valid(s, 14, 34, 6)).toBe(true);
      expect(s[15]).toBe(2); // TOS kept
    }
  });

  it('without NEEDS_CSUM ignores the garbage in the checksum field (spec case 02)', () => {
    const good = buildFrame({ proto: 6, payload: 3000, fill: 1 });
    const bad = buildFrame({ proto: 6, payload: 3000, fill: 1, check: 0xdead });
    gsoSegment(
      { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 },
      good.frame,
      out,
    );
    const a = out.toArray();
    gsoSegment(
      { flags: 0, gsoType: 1, hdrLen: 54, gsoSize: 1448, csumStart: 0, csumOffset: 0 },
      bad.frame,
      out,
    );
    expect(out.toArray()).toEqual(a);
  });

  it('carries a wrong NEEDS_CSUM value into every segment (docs/SPEC.md §6.4)', () => {
    const b = buildFrame({ proto: 6, payload: 3000, fill: 1, check: 0x1234 });
    gsoSegment(
      { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1000, csumStart: 34, csumOffset: 16 },
      b.frame,
      out,
    );
    for (const s of out.toArray()) expect(l4Valid(s, 14, 34, 6)).toBe(false);
  });

  it('completes checksum-only frames and sends a zero checksum as 0xFFFF', () => {
    const b = buildFrame({ proto: 17, payload: 200, fill: 0 });
    const h: GsoHeader = { flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 34, csumOffset: 6 };
    expect(gsoSegment(h, b.frame, out)).toBe(1);
    expect(l4Valid(out.segment(0), 14, 34, 17)).toBe(true);
    // A region summing to zero: the result 0 becomes 0xFFFF (skb_checksum_help's CSUM_MANGLED_0).
    const z = new Uint8Array(64);
    z[12] = 0x08;
    gsoSegment({ flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 40, csumOffset: 4 }, z, out);
    expect(be16(out.segment(0), 44)).toBe(0xffff);
  });

  it('fragments UFO v4 with one id, offsets in 8-byte units and MF on all but the last', () => {
    const b = buildFrame({ proto: 17, payload: 3000, id: 0x309, df: false });
    expect(
      gsoSegment(
        { flags: 0, gsoType: 3, hdrLen: 0, gsoSize: 1480, csumStart: 0, csumOffset: 0 },
        b.frame,
        out,
      ),
    ).toBe(3);
    const s = out.toArray();
    expect(s.map((f) => be16(f, 16) - 20)).toEqual([1480, 1480, 48]);
    expect(s.map((f) => be16(f, 20))).toEqual([0x2000, 0x2000 | 185, 370]);
    expect(s.map((f) => be16(f, 18))).toEqual([0x309, 0x309, 0x309]);
  });

  it('returns the verdicts Linux gives, as typed errors', () => {
    const b = buildFrame({ proto: 6, payload: 3000 });
    const base: GsoHeader = {
      flags: 1,
      gsoType: 1,
      hdrLen: 54,
      gsoSize: 1000,
      csumStart: 34,
      csumOffset: 16,
    };
    const verdict = (h: Partial<GsoHeader>, f = b.frame): string => {
      try {
        gsoSegment({ ...base, ...h }, f, out);
        return 'ok';
      } catch (e) {
        if (!(e instanceof TsoError)) throw e;
        return `${e.code}/${e.verdict}`;
      }
    };
    expect(verdict({ gsoSize: 0 })).toBe('GSO_SIZE_ZERO/reject');
    expect(verdict({ gsoType: 2 })).toBe('BAD_GSO_TYPE/reject');
    expect(verdict({ csumOffset: 6 })).toBe('TCP_BAD_CSUM_OFFSET/reject');
    expect(verdict({ csumStart: 60000 })).toBe('CSUM_BEYOND_FRAME/reject');
    expect(verdict({ hdrLen: 60000 })).toBe('HDR_LEN_BEYOND_FRAME/reject');
    expect(verdict({ gsoType: 5, csumOffset: 6, flags: 0 })).toBe('USO_WITHOUT_CSUM/reject');
    expect(verdict({ gsoSize: 0xffff })).toBe('GSO_BY_FRAGS/reject');
    expect(verdict({ csumStart: 20 })).toBe('DROP_CSUM_NOT_TRANSPORT/drop');
    expect(verdict({ gsoType: 4, csumStart: 40 })).toBe('DROP_GSO_PROTO_MISMATCH/drop');
    expect(verdict({}, b.frame.subarray(0, 10))).toBe('HDR_LEN_BEYOND_FRAME/reject');
    expect(verdict({ hdrLen: 0, flags: 0 }, b.frame.subarray(0, 10))).toBe('FRAME_TOO_SHORT/reject');
    // Payload ≤ gso_size is not GSO: one frame, checksum completed (spec case 28).
    expect(verdict({ gsoSize: 3000 })).toBe('ok');
    expect(out.count).toBe(1);
    // Payload ≤ gso_size but payload + options > gso_size: accepted, then dropped (docs/SPEC.md §6.4).
    const o = buildFrame({
      proto: 6,
      payload: 1000,
      tcpOptions: new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
    });
    expect(verdict({ gsoSize: 1000, hdrLen: 66 }, o.frame)).toBe('DROP_GSO_TOO_SMALL/drop');
  });

  it('trySegment returns the code instead of throwing, and leaves the list empty', () => {
    const b = buildFrame({ proto: 6, payload: 3000 });
    const h: GsoHeader = { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1000, csumStart: 34, csumOffset: 16 };
    expect(trySegment(h, b.frame, out)).toBeNull();
    expect(out.count).toBe(3);
    expect(trySegment({ ...h, gsoSize: 0 }, b.frame, out)).toBe('GSO_SIZE_ZERO');
    expect(out.count).toBe(0);
    expect(trySegment({ ...h, csumStart: 38 }, b.frame, out)).toBe('DROP_CSUM_NOT_TRANSPORT');
  });

  it('property: segments carry the payload in order, every checksum valid, lengths within gso_size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), (seed) => {
        for (const c of generate(seed, 6)) {
          if (!c.name.startsWith('tcp4') || c.hdr.flags === 0 || c.frame[12] !== 0x08) continue;
          let n: number;
          try {
            n = gsoSegment(c.hdr, c.frame, out);
          } catch (e) {
            expect(e).toBeInstanceOf(TsoError);
            continue;
          }
          const th = c.hdr.csumStart;
          const hl = th + (c.frame[th + 12]! >>> 4) * 4;
          let payload = 0;
          for (let i = 0; i < n; i++) {
            const s = out.segment(i);
            expect(s.length - hl).toBeLessThanOrEqual(c.hdr.gsoSize);
            expect(
              Buffer.compare(s.subarray(hl), c.frame.subarray(hl + payload, hl + payload + s.length - hl)),
            ).toBe(0);
            payload += s.length - hl;
            expect(csumPartial(s, 14, th - 14)).toBe(0xffff);
          }
          expect(payload).toBe(c.frame.length - hl);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: hostile headers and bytes only ever end in a TsoError, never out of bounds', () => {
    fc.assert(
      fc.property(
        fc.record({
          flags: fc.nat({ max: 255 }),
          gsoType: fc.constantFrom(0, 1, 3, 4, 5, 0x81, 0x84, 7, 0x45),
          hdrLen: fc.nat({ max: 0xffff }),
          gsoSize: fc.nat({ max: 0xffff }),
          csumStart: fc.nat({ max: 300 }),
          csumOffset: fc.nat({ max: 300 }),
        }),
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        fc.constantFrom(0x0800, 0x86dd, 0x8100),
        (h, bytes, type) => {
          const f = new Uint8Array(bytes.length);
          f.set(bytes);
          if (f.length >= 14) {
            f[12] = type >>> 8;
            f[13] = type & 0xff;
          }
          try {
            const n = gsoSegment(h, f, out);
            expect(n).toBeGreaterThan(0);
            expect(out.byteLength).toBeGreaterThanOrEqual(f.length > 0 ? 14 : 0);
          } catch (e) {
            expect(e).toBeInstanceOf(TsoError);
          }
          // checkTapWrite alone agrees on the EINVAL class.
          let rejected = false;
          try {
            checkTapWrite(h, f);
          } catch {
            rejected = true;
          }
          if (rejected) expect(() => gsoSegment(h, f, out)).toThrow(TsoError);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
